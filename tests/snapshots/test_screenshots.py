"""The screenshots command writes the README's SVGs, the same bytes every time."""

from __future__ import annotations

import time
from pathlib import Path

from scripts import screenshots


def test_screenshots_are_written_and_reproducible(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert screenshots.main(["--out", str(tmp_path / "one")]) == 0
        assert screenshots.main(["--out", str(tmp_path / "two")]) == 0
    finally:
        monkeypatch.undo()
        time.tzset()
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == ["detail.svg", "main.svg", "when.svg", "workspace-picker.svg"]
    for name in names:
        first = (tmp_path / "one" / name).read_text()
        assert first.startswith("<svg") and "Static&#160;Test&#160;Workspace" in first
        assert first == (tmp_path / "two" / name).read_text(), name
    assert "earlier&#160;runIds" in (tmp_path / "one" / "detail.svg").read_text()
    assert "Workspaces" in (tmp_path / "one" / "workspace-picker.svg").read_text()
    when = (tmp_path / "one" / "when.svg").read_text()
    assert "between&#160;10:04:58&#160;and&#160;10:05:00" in when and "slow" in when
