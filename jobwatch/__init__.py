"""jobwatch: watch Sharely.ai background jobs live, from a dashboard or a script.

Published as the distribution "sharely-jobwatch" (the name "jobwatch" on PyPI is an unrelated
tool); the command and the import package are both `jobwatch`.
"""

__version__ = "0.1.0"
#: the name on PyPI, in `pip show`, and in `pipx install` / `pip install -U`
DISTRIBUTION_NAME = "sharely-jobwatch"
