"""Entry point for `python -m jobwatch`."""

from jobwatch.cli import main

raise SystemExit(main())
