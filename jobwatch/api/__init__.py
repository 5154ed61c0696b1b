"""The Sharely API: client (requests, 401 renewal), credentials, transport (security checks, error mapping), decode (parsing answers)."""

import sys

# httpx imports its command-line tool (httpx._main) whenever click is installed, and with it
# click, pygments' lexers and rich's syntax, progress and table modules: 75-120 ms of every start
# of jobwatch where click is installed (importing jobwatch.session and jobwatch.tui.app, 2 cores,
# 4 runs; import-linter installs click in the development venv, which the bench runs in).
# jobwatch never runs httpx's tool: marked as absent, httpx.main only says to install httpx[cli].
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
