"""Theming: the shipped and user themes (TOML files turned into Textual themes) and the status colours they define."""
