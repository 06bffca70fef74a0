"""Write-and-rename: the target holds the old file or the complete new one, no temporary is left."""

from __future__ import annotations

from pathlib import Path

import pytest

from airshower.atomic import atomic_path, write_text


@pytest.mark.parametrize("durable", [False, True])
def test_write_text_creates_folders_and_leaves_no_temporary(tmp_path: Path, durable: bool) -> None:
    path = tmp_path / "a" / "b.txt"
    assert write_text(path, "héllo\n", durable=durable) == path
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert [p.name for p in path.parent.iterdir()] == ["b.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    write_text(path, "old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(path, suffix=".pdf", durable=True) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".b.txt.tmp") and tmp.suffix == ".pdf"
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.txt"]


def test_each_write_has_its_own_temporary(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "x") as first, atomic_path(tmp_path / "x") as second:
        assert first != second
        first.write_text("1")
        second.write_text("2")
    assert (tmp_path / "x").read_text() == "1"  # the outer write renames last
