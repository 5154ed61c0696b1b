"""Entry point for `python -m jobwatch`."""

from jobwatch.cli.main import main

raise SystemExit(main())
