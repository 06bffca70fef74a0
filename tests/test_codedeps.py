"""The code inputs of the workflow's rules, derived from the imports of each stage (airshower.codedeps)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airshower.cli import COMMANDS
from airshower.codedeps import CodeDepsError, source_files

PARAMETERS = "src/airshower/resources/sd_parameters.json"
SCHEMA = "src/airshower/schemas/config.schema.yaml"


def stage(repo: Path, command: str, **kwargs) -> list[str]:  # noqa: ANN003
    """What the workflow's rule of ``airshower <command>`` lists: the CLI, its stage module and their closure."""
    return source_files(["airshower.cli", COMMANDS[command][0]], src=repo / "src", root=repo, **kwargs)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_stage_lists_existing_relative_files_sorted(repo: Path, command: str) -> None:
    files = stage(repo, command)
    assert files == sorted(set(files))
    assert all(not os.path.isabs(f) and f.startswith("src/airshower/") for f in files), files
    assert all((repo / f).is_file() for f in files)
    for own in ("cli.py", "config.py", "__init__.py", COMMANDS[command][0].removeprefix("airshower.").replace(".", "/") + ".py"):
        assert f"src/airshower/{own}" in files
    assert SCHEMA in files  # read by config.py through importlib.resources


def test_simulate_reads_the_physics_parameters(repo: Path) -> None:
    files = stage(repo, "simulate")
    assert PARAMETERS in files
    assert "src/airshower/physics/parameters.py" in files


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_parameter_file_goes_with_the_module_that_reads_it(repo: Path, command: str) -> None:
    """sd_parameters.json is an input of a stage (convert among them) exactly when it imports physics.parameters."""
    files = stage(repo, command)
    assert (PARAMETERS in files) == ("src/airshower/physics/parameters.py" in files)


def test_train_runs_no_figure_code(repo: Path) -> None:
    files = stage(repo, "train")
    assert "src/airshower/training/engine.py" in files
    assert "src/airshower/models/registry.py" in files  # imported inside a function of the engine
    assert not [f for f in files if "/figures/" in f]


@pytest.mark.parametrize("command", ["simulate", "convert", "evaluate", "figures"])
def test_stages_without_a_network_list_no_model_code(repo: Path, command: str) -> None:
    """The architectures' hyperparameter tables (airshower.models.specs) belong to the stages that build networks."""
    assert not [f for f in stage(repo, command) if "/models/" in f]


def test_the_networks_stages_list_the_hyperparameter_tables(repo: Path) -> None:
    for command in ("train", "predict", "reconstruct"):
        assert "src/airshower/models/specs.py" in stage(repo, command), command


def test_an_excluded_subtree_is_not_followed(repo: Path) -> None:
    """`airshower simulate` imports the validation figures only under --validate: the simulate rule excludes them."""
    assert "src/airshower/figures/validation.py" in stage(repo, "simulate")  # a function-level import
    files = stage(repo, "simulate", exclude=("airshower.figures",))
    assert not [f for f in files if "/figures/" in f]
    assert PARAMETERS in files


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_imports_of_every_form_are_followed(tmp_path: Path) -> None:
    """A made-up package: function-level, relative, from-package and on-use imports, data files."""
    write(tmp_path / "src", {
        "airshower/__init__.py": "",
        "airshower/entry.py": """
            from typing import TYPE_CHECKING
            from airshower.pkg import sub, helper
            from . import rel

            if TYPE_CHECKING:
                from airshower import typing_only

            PLUGINS = {"a": "airshower.plugin:Thing", "gone": "airshower.missing:Thing"}

            def run():
                import airshower.lazy.deep
            """,
        "airshower/pkg/__init__.py": "def helper(): pass\n",
        "airshower/pkg/sub.py": "from ..data_reader import read\n",
        "airshower/rel.py": "",
        "airshower/typing_only.py": "",
        "airshower/plugin.py": "",
        "airshower/lazy/__init__.py": "",
        "airshower/lazy/deep.py": "",
        "airshower/unused.py": "",
        "airshower/data_reader.py": """
            from importlib import resources
            NAME = "tables/numbers.json"
            def read():
                return resources.files("airshower").joinpath(NAME).read_text()
            def other():
                return resources.files("airshower") / "tables" / "other.csv"
            """,
        "airshower/tables/numbers.json": "{}",
        "airshower/tables/other.csv": "",
        "airshower/tables/unread.json": "{}",
    })
    files = source_files(["airshower.entry"], src=tmp_path / "src", root=tmp_path)
    assert files == sorted(f"src/airshower/{name}" for name in (
        "__init__.py", "entry.py", "pkg/__init__.py", "pkg/sub.py", "rel.py", "plugin.py",
        "lazy/__init__.py", "lazy/deep.py", "data_reader.py", "tables/numbers.json", "tables/other.csv",
    ))
    # relative to another working folder: still relative
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    assert all(f.startswith("../src/") for f in source_files(["airshower.entry"], src=tmp_path / "src", root=elsewhere))


def test_a_missing_module_is_named(tmp_path: Path) -> None:
    write(tmp_path / "src", {"airshower/__init__.py": "", "airshower/a.py": "def f():\n    from airshower import b\n"})
    write(tmp_path / "src", {"airshower/b.py": "import airshower.nowhere\n"})
    with pytest.raises(CodeDepsError, match=r"airshower\.nowhere \(imported by airshower\.b\)"):
        source_files(["airshower.a"], src=tmp_path / "src", root=tmp_path)
    with pytest.raises(CodeDepsError, match="airshower.absent"):
        source_files(["airshower.absent"], src=tmp_path / "src", root=tmp_path)


def test_analysing_imports_nothing_it_analyses(repo: Path) -> None:
    """Planning needs no torch: the stages' modules are parsed, never imported."""
    code = textwrap.dedent(f"""
        import sys
        from airshower.codedeps import source_files
        for module in {[m for m, _, _ in COMMANDS.values()]!r}:
            source_files(["airshower.cli", module], src={str(repo / "src")!r}, root={str(repo)!r})
        loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith(("airshower.", "matplotlib")))
        print(loaded)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['airshower.codedeps']"
