"""jobwatch: watch Sharely.ai background jobs live, from a dashboard or a script."""

__version__ = "0.1.0"
