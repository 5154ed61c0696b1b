"""What jobwatch keeps on disk: the history (SQLite), the config (TOML), the event log, and where they live."""
