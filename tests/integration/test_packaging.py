"""The wheel and the sdist, built once from a copy of this checkout, offline.

The build calls the PEP 517 hooks of the setuptools installed in this venv (what
`python -m build --no-isolation` does), so it needs no network; the test extra installs the same
setuptools range that [build-system] asks for, and a test checks the two agree. The wheel is then
installed (without its dependencies, which this venv has) into a folder of its own and run from
there, away from the checkout.
"""

from __future__ import annotations

import email
import email.message
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import jobwatch
from scripts.lowest_pins import lowest_pins

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
NAME = "sharely-jobwatch"
DIST_INFO = f"sharely_jobwatch-{jobwatch.__version__}.dist-info"
#: what a checkout has that neither the wheel nor the sdist may carry
DEV_ONLY = ("tests/", "bench/", "scripts/", "screenshots/", ".ci/")
_COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def build(source: Path, out: Path, *hooks: str) -> list[Path]:
    """Run setuptools' PEP 517 `hooks` (build_wheel, build_sdist) in `source`; the files made."""
    code = (
        "import sys, setuptools.build_meta as backend\n"
        "out, hooks = sys.argv[1], sys.argv[2:]  # the backend rewrites sys.argv\n"
        "for hook in hooks: print('built:', getattr(backend, hook)(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(out), *hooks],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SetuptoolsDeprecationWarning" not in done.stderr, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    return [out / line.removeprefix("built: ") for line in lines if line.startswith("built: ")]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(wheel, sdist), built from a copy of the checkout so nothing is written into it."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=_COPY_IGNORE, symlinks=True)
    out = tmp / "dist"
    out.mkdir()
    wheel, sdist = build(source, out, "build_wheel", "build_sdist")
    return wheel, sdist


@pytest.fixture(scope="module")
def wheel_names(built) -> list[str]:
    with zipfile.ZipFile(built[0]) as zf:
        return zf.namelist()


@pytest.fixture(scope="module")
def metadata(built) -> email.message.Message:
    with zipfile.ZipFile(built[0]) as zf:
        return email.message_from_bytes(zf.read(f"{DIST_INFO}/METADATA"))


class TestWheel:
    def test_holds_the_runtime_only(self, wheel_names: list[str]):
        outside = [n for n in wheel_names if not n.startswith(("jobwatch/", f"{DIST_INFO}/"))]
        assert outside == []
        assert not [n for n in wheel_names for dev in DEV_ONLY if f"/{dev}" in f"/{n}"]
        source = sorted(
            p.relative_to(ROOT).as_posix()
            for p in (ROOT / "jobwatch").rglob("*")
            if p.suffix in (".py", ".toml", ".tcss") and "__pycache__" not in p.parts
        )
        assert sorted(n for n in wheel_names if n.startswith("jobwatch/")) == source

    def test_names_the_distribution_and_carries_the_license(self, built, metadata):
        assert (
            metadata["Name"] == NAME == jobwatch.DISTRIBUTION_NAME == PYPROJECT["project"]["name"]
        )
        assert metadata["Version"] == jobwatch.__version__
        assert metadata["License-Expression"] == "MIT"
        assert metadata.get_all("License-File") == ["LICENSE"]
        with zipfile.ZipFile(built[0]) as zf:
            assert zf.read(f"{DIST_INFO}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
            assert zf.read(f"{DIST_INFO}/top_level.txt").split() == [b"jobwatch"]
            entry_points = zf.read(f"{DIST_INFO}/entry_points.txt").decode()
        assert "jobwatch = jobwatch.cli.main:main" in entry_points
        assert "Copyright (c) 2026 the jobwatch authors" in (ROOT / "LICENSE").read_text()

    def test_metadata_a_package_index_shows(self, metadata):
        urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
        assert set(urls) == {"Homepage", "Repository", "Issues", "Documentation"}
        assert all(u.startswith("https://github.com/sharely-ai/jobwatch") for u in urls.values())
        assert "Environment :: Console" in metadata.get_all("Classifier")
        assert not [c for c in metadata.get_all("Classifier") if c.startswith("License ::")]
        assert "sharely" in metadata["Keywords"].split(",")
        assert metadata["Requires-Python"] == ">=3.11"

    def test_dev_tools_are_only_in_the_test_extra(self, metadata):
        runtime, extra = [], []
        for text in metadata.get_all("Requires-Dist"):
            requirement = Requirement(text)
            (extra if requirement.marker else runtime).append(requirement)
        declared = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
        assert sorted(map(str, runtime)) == sorted(map(str, declared))
        assert {r.name for r in runtime} == {
            "textual",
            "httpx",
            "tomlkit",
            "argcomplete",
            "platformdirs",
            "orjson",
            "msgspec",
        }
        assert {"pytest", "ruff", "mypy", "setuptools"} <= {r.name for r in extra}
        assert all(str(r.marker) == 'extra == "test"' for r in extra)


class TestSdist:
    def test_carries_no_tests_and_builds_the_same_wheel(self, built, wheel_names, tmp_path):
        wheel, sdist = built
        top = f"sharely_jobwatch-{jobwatch.__version__}"
        with tarfile.open(sdist) as tf:
            names = [n.removeprefix(f"{top}/") for n in tf.getnames()]
            tf.extractall(tmp_path, filter="data")
        assert {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO"} <= set(names)
        assert [n for n in names if n.startswith(DEV_ONLY)] == []
        (rebuilt,) = build(tmp_path / top, tmp_path, "build_wheel")
        with zipfile.ZipFile(rebuilt) as zf:
            assert sorted(zf.namelist()) == sorted(wheel_names)


def test_the_installed_wheel_runs_away_from_the_checkout(built, tmp_path):
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        + ["--no-compile", "--target", str(target), str(built[0])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "timeout": 60}

    version = subprocess.run([str(target / "bin" / "jobwatch"), "--version"], **run)
    assert (version.returncode, version.stdout) == (0, f"jobwatch {jobwatch.__version__}\n")

    show = subprocess.run([sys.executable, "-m", "pip", "show", NAME], **run)
    assert f"Name: {NAME}\n" in show.stdout
    assert f"Location: {target}\n" in show.stdout

    probe = (
        "import jobwatch, jobwatch.tui.theming.themes as t; print(jobwatch.__file__);"
        "print(sorted(p.name for d in t.shipped_theme_dirs() for p in d.glob('*.toml')))"
    )
    where = subprocess.run([sys.executable, "-c", probe], **run)
    assert where.returncode == 0, where.stderr
    module_file, themes = where.stdout.splitlines()
    assert Path(module_file).is_relative_to(target)
    assert themes == str(
        ["jobwatch-dark.toml", "jobwatch-high-contrast.toml", "jobwatch-light.toml"]
    )


def test_the_build_backend_is_the_one_the_test_extra_installs():
    (build_requirement,) = PYPROJECT["build-system"]["requires"]
    in_extra = [r for r in PYPROJECT["project"]["optional-dependencies"]["test"]]
    assert build_requirement in in_extra
    import setuptools

    assert Version(setuptools.__version__) in Requirement(build_requirement).specifier


def test_lowest_pins_are_the_lower_bounds_in_pyproject():
    pins = lowest_pins(PYPROJECT)
    assert len(pins) == len(PYPROJECT["project"]["dependencies"]) + 1
    assert "textual==8.2.5" in pins
    assert pins[-1].startswith("setuptools==")
    broken = {**PYPROJECT, "project": {"dependencies": ["textual<9"]}}
    with pytest.raises(ValueError, match="textual<9"):
        lowest_pins(broken)
