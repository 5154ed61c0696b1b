"""`python -m scripts.lowest_pins [pyproject.toml]`: pip constraints for the lowest allowed versions.

Prints `name==version` for the lower bound of every runtime dependency and of the build backend
in pyproject.toml, so CI can install exactly those (`pip install -c FILE -e '.[test]'`) and run
tests against them; pyproject.toml stays the one home of the bounds. A dependency without a `>=`
bound is an error: its lowest version would be whatever pip found first.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement


def lowest_pins(pyproject: dict) -> list[str]:
    """One `name==version` line per runtime dependency and build requirement; raises ValueError."""
    wanted = pyproject["project"]["dependencies"] + pyproject["build-system"]["requires"]
    pins = []
    for text in wanted:
        requirement = Requirement(text)
        floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(floors) != 1:
            raise ValueError(f"{text!r}: needs exactly one '>=' lower bound")
        pins.append(f"{requirement.name}=={floors[0]}")
    return pins


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "pyproject.toml")
    try:
        pins = lowest_pins(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError) as error:
        print(f"lowest_pins: {path}: {error}", file=sys.stderr)
        return 2
    print("\n".join(pins))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
