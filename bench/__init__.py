"""The benchmark: `python -m bench.bench` from the repository root (not part of the installed package)."""
