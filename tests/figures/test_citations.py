"""The figures cite files that are in the repository (the validation figures: docs/physics.md)."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "src" / "airshower" / "figures"
CITED = re.compile(r"\b((?:docs|config|workflow)/[\w./-]+\.(?:md|yaml|rst)|[A-Z][A-Z_]+\.md)\b")


def test_every_cited_file_exists():
    cited = {name: path.name for path in FIGURES.glob("*.py") for name in CITED.findall(path.read_text())}
    assert cited, "no citation found: the pattern is stale"
    missing = {name: where for name, where in cited.items() if not (REPO / name).is_file()}
    assert not missing, f"the figures cite files that are not in the repository: {missing}"


def test_validation_figures_cite_the_physics_notes():
    text = (FIGURES / "validation.py").read_text()
    assert "docs/physics.md" in text
    # the muon-fraction reference points drawn are the ones docs/physics.md states
    physics = (REPO / "docs" / "physics.md").read_text()
    assert "0.56" in physics and "0.84" in physics
    assert "[0.56, 0.84]" in text
