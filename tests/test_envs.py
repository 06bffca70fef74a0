"""Conda environments (environment.yml, workflow/envs/*.yaml) are correct by construction.

Conda cannot run on the development machines, so these tests check what conda and Snakemake
would do with the files:

* every file is valid YAML with channels and parseable dependency specs;
* every version floor agrees with pyproject.toml (runtime, extras and build requirements);
* every rule's environment provides every third-party module the rule's code imports: the
  airshower modules a job loads (the CLI with the rule's subcommand, found by running its
  parser in a subprocess) and, statically, every module those import, even inside functions;
* the package itself reaches every rule's environment. Snakemake copies an environment file
  to ``<conda-prefix>/<hash>.yaml`` before ``conda env create``, and conda runs pip from the
  directory of the file it was given, so a relative ``pip: [-e ../..]`` resolves against the
  conda prefix, not against workflow/envs/ (and pip would also pull the package's PyPI
  dependencies, torch included, into every environment). Instead each environment has a
  post-deploy script that runs ``pip install --no-deps -e "$AIRSHOWER_ROOT"``, the variable
  set by workflow/rules/common.smk to the checkout; the test runs that script (pip dry run)
  and checks the variable through Snakemake.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ENV_DIR = REPO / "workflow/envs"
RULE_DIR = REPO / "workflow/rules"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

# conda-forge/bioconda names that differ from the PyPI names in pyproject.toml
CONDA_TO_PYPI = {"pytorch": "torch"}
# import name -> conda package providing it (third-party modules the package may import)
IMPORT_TO_CONDA = {
    "numpy": "numpy",
    "awkward": "awkward",
    "uproot": "uproot",
    "h5py": "h5py",
    "torch": "pytorch",
    "sklearn": "scikit-learn",
    "matplotlib": "matplotlib",
    "mpl_toolkits": "matplotlib",
    "yaml": "pyyaml",
    "jsonschema": "jsonschema",
    "tqdm": "tqdm",
    "snakemake": "snakemake",
}
# Imports inside functions that only code paths of other stages reach, so that the stage's
# environment need not provide them: (importing module, imported name) -> why. Every other
# import, at any level, counts; test_lazy_imports_still_exist keeps this list honest.
LAZY = {
    ("airshower.hexgrid", "torch"): "only reached when a torch tensor is passed in (train/predict)",
    ("airshower.io.tensors", "torch"): "read_tensors builds a torch Batch for train/predict; others use read_arrays",
    ("airshower.io.tensors", "airshower.batch"): "same function as above",
    ("airshower.io.files", "h5py"): "open_hdf5 reads the HDF5 inputs of later stages; simulate only checks its output path",
}
# name [version spec] [build], e.g. "numpy>=1.24", "pytorch=*=cuda*", "python>=3.10",
# or name[key='value', ...], e.g. "pytorch[version='>=2.1', build='cuda*']"
SPEC = re.compile(r"^([A-Za-z0-9_.-]+)\s*(?:(>=|==|=|<=|<|>|!=)\s*([0-9*][0-9A-Za-z.*]*)(?:=([A-Za-z0-9_*.]+))?)?\s*$")
BRACKET_SPEC = re.compile(r"^([A-Za-z0-9_.-]+)\[((?:\s*\w+\s*=\s*'[^']*'\s*,?)+)\]$")


# --- reading the files -----------------------------------------------------------------------


def _split_requirement(spec: str) -> tuple[str, str]:
    """(lower-case name, floor) of a PEP 508 requirement such as ``"x>=1.2; python_version>='3.11'"``."""
    spec = spec.split(";", 1)[0].strip()
    name, _, floor = spec.partition(">=")
    name = re.split(r"[<>=!~\[ ]", name, maxsplit=1)[0]
    return name.strip().lower(), floor.split(",")[0].strip()


def _pyproject_floors(repo: Path) -> dict[str, str]:
    """Every requirement of pyproject.toml (runtime, extras, build system) -> its floor."""
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    specs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        specs += extra
    specs += data["build-system"]["requires"]
    return dict(_split_requirement(s) for s in specs)


def _runtime_floors(repo: Path) -> dict[str, str]:
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    specs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        specs += extra
    return dict(_split_requirement(s) for s in specs)


def _env_files(repo: Path) -> list[Path]:
    return [repo / "environment.yml", *sorted((repo / "workflow/envs").glob("*.yaml"))]


def _conda_deps(path: Path) -> tuple[dict[str, str], list[str]]:
    """(conda package -> floor or "", pip entries) of an environment file."""
    env = yaml.safe_load(path.read_text())
    deps, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep.get("pip", [])
            continue
        bracket = BRACKET_SPEC.match(str(dep).strip())
        if bracket:
            keys = dict(re.findall(r"(\w+)\s*=\s*'([^']*)'", bracket.group(2)))
            version = keys.get("version", "")
            deps[bracket.group(1).lower()] = version.removeprefix(">=") if version.startswith(">=") else ""
            continue
        match = SPEC.match(str(dep))
        assert match, f"{path.name}: cannot parse dependency {dep!r}"
        name, op, version = match.group(1).lower(), match.group(2), match.group(3)
        deps[name] = version if op == ">=" else ""
    return deps, pip


# --- which rule runs what ----------------------------------------------------------------------


def _cli_commands() -> dict[str, str]:
    """airshower subcommand -> module that implements it (from the CLI itself)."""
    from airshower.cli import COMMANDS

    return {name: module for name, (module, _func, _help) in COMMANDS.items()}


def _rules(repo: Path) -> dict[str, dict[str, str]]:
    """rule -> {"env": conda env file, "command": airshower subcommand} for rules that run the CLI."""
    commands = _cli_commands()
    stage = re.compile(r"(?:\bairshower|\{params\.\w+\})\s+(" + "|".join(commands) + r")\b")
    rules = {}
    for smk in sorted((repo / "workflow/rules").glob("*.smk")):
        text = smk.read_text()
        starts = [(m.start(), m.group(1)) for m in re.finditer(r"^(?:rule|checkpoint)\s+(\w+)\s*:", text, re.M)]
        for (start, name), (end, _) in zip(starts, [*starts[1:], (len(text), "")]):
            block = text[start:end]
            found = stage.search(block)
            if not found:
                continue
            conda = re.search(r"^\s+conda:\s*\n\s+[\"']([^\"']+)[\"']", block, re.M)
            assert conda, f"{smk.name}: rule {name} runs 'airshower {found.group(1)}' but names no conda environment"
            rules[name] = {"env": str((smk.parent / conda.group(1)).resolve()), "command": found.group(1)}
    return rules


# --- what the code imports -----------------------------------------------------------------------

_LOADED_PROBE = """
import json, sys
from airshower import cli
try:
    cli.main([sys.argv[1], "--help"])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m == "airshower" or m.startswith("airshower."))))
"""


@cache
def _loaded_by_cli(command: str) -> frozenset[str]:
    """The airshower modules ``airshower <command>`` loads before its stage function runs."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED_PROBE, command], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return frozenset(json.loads(proc.stdout.strip().splitlines()[-1]))


def _module_file(module: str) -> Path | None:
    parts = module.split(".")
    base = REPO / "src" / Path(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _optional(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True for imports guarded by ``try: ... except ImportError`` or ``if TYPE_CHECKING:``."""
    child, node = node, parents.get(node)
    while node is not None:
        if isinstance(node, ast.Try) and child in node.body:
            for handler in node.handlers:
                names = [handler.type] if not isinstance(handler.type, ast.Tuple) else handler.type.elts
                if any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names):
                    return True
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) and child in node.body:
            return True
        child, node = node, parents.get(node)
    return False


def _in_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return True
    return False


@cache
def _imports_of(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """(airshower modules, third-party top-level names) that ``module`` imports anywhere in its source."""
    path = _module_file(module)
    assert path is not None, f"no source file for {module}"
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        found: set[str] = set()
        if isinstance(node, ast.Import) and not _optional(node, parents):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not _optional(node, parents):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            found.add(root)
            found.update(f"{root}.{alias.name}" for alias in node.names)  # submodules, if they exist
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) in ("importlib.import_module", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
        if found and _in_function(node, parents):
            found = {n for n in found if (module, n) not in LAZY and (module, n.split(".")[0]) not in LAZY}
        names |= found
    internal, external = set(), set()
    for name in names:
        top = name.split(".")[0]
        if top == "airshower":
            if _module_file(name) is not None:
                internal.add(name)
        elif top and top not in sys.stdlib_module_names and top != "__future__":
            external.add(top)
    return frozenset(internal), frozenset(external)


def _third_party_imports(roots: set[str]) -> dict[str, set[str]]:
    """Third-party top-level name -> airshower modules importing it, over everything ``roots`` reach."""
    seen, todo, users = set(), list(roots), {}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        # importing a module runs its packages' __init__ first
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        internal, external = _imports_of(module)
        todo += sorted(internal)
        for name in external:
            users.setdefault(name, set()).add(module)
    return users


# --- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["environment.yml", "simulate.yaml", "convert.yaml", "train.yaml", "evaluate.yaml"])
def test_environment_exists(repo: Path, name: str) -> None:
    path = repo / name if name == "environment.yml" else repo / "workflow/envs" / name
    assert path.exists(), f"{path} is missing"


@pytest.mark.parametrize("path", _env_files(REPO), ids=lambda p: p.name)
def test_environment_file_is_valid(path: Path) -> None:
    env = yaml.safe_load(path.read_text())
    assert isinstance(env, dict), f"{path.name}: not a YAML mapping"
    assert set(env) <= {"name", "channels", "dependencies", "variables"}, f"{path.name}: unknown keys {sorted(env)}"
    channels = env.get("channels")
    assert isinstance(channels, list) and channels and channels[0] == "conda-forge", (
        f"{path.name}: channels must start with conda-forge (bioconda and the project's packages build on it)"
    )
    assert "defaults" not in channels, f"{path.name}: mixing the defaults channel with conda-forge breaks solves"
    deps, pip = _conda_deps(path)  # asserts that every spec parses
    assert "python" in deps, f"{path.name}: no python"
    assert all(isinstance(p, str) for p in pip), f"{path.name}: pip entries must be strings"


def test_version_floors_agree_with_pyproject(repo: Path) -> None:
    floors = _pyproject_floors(repo)
    for path in _env_files(repo):
        deps, _ = _conda_deps(path)
        for conda_name, floor in deps.items():
            if conda_name in ("python", "pip"):
                continue
            pypi = CONDA_TO_PYPI.get(conda_name, conda_name)
            assert pypi in floors, f"{path.name}: {conda_name} is not a requirement in pyproject.toml"
            assert floor == floors[pypi], (
                f"{path.name}: {conda_name}>={floor} but pyproject.toml says {pypi}>={floors[pypi]}"
            )


def test_python_floor_agrees_with_pyproject(repo: Path) -> None:
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    floor = data["project"]["requires-python"].removeprefix(">=")
    for path in _env_files(repo):
        deps, _ = _conda_deps(path)
        assert deps["python"] == floor, f"{path.name}: python>={deps['python']} but requires-python is >={floor}"


def test_environment_yml_covers_every_runtime_dependency(repo: Path) -> None:
    deps, _ = _conda_deps(repo / "environment.yml")
    names = {CONDA_TO_PYPI.get(n, n) for n in deps}
    missing = set(_runtime_floors(repo)) - names
    assert not missing, f"environment.yml lacks {sorted(missing)}"


def test_environment_yml_installs_the_package(repo: Path) -> None:
    """`conda env create -f environment.yml` runs pip from the file's directory: '.' is the repository."""
    _, pip = _conda_deps(repo / "environment.yml")
    assert "-e ." in pip, "environment.yml: the airshower package is not installed (pip: [-e .])"


def test_every_rule_names_an_existing_environment(repo: Path) -> None:
    rules = _rules(repo)
    assert "simulate" in rules, "no rule runs 'airshower simulate' (rule parsing broken?)"
    for rule, info in rules.items():
        assert Path(info["env"]).exists(), f"rule {rule}: conda environment {info['env']} does not exist"
        assert Path(info["env"]).parent == ENV_DIR, f"rule {rule}: environment outside workflow/envs/"


@pytest.mark.parametrize("env_file", sorted(ENV_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_workflow_environment_has_no_relative_pip_paths(env_file: Path) -> None:
    """Snakemake hands conda a copy in .snakemake/conda/: relative paths would point there."""
    _, pip = _conda_deps(env_file)
    for entry in pip:
        target = entry.removeprefix("-e").strip()
        assert not target.startswith(("..", "./", ".")), (
            f"{env_file.name}: pip entry {entry!r} is relative; conda resolves it against the copy Snakemake "
            "makes in <conda-prefix>/, not against workflow/envs/"
        )


@pytest.mark.parametrize("env_file", sorted(ENV_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_workflow_environment_installs_the_package(env_file: Path, tmp_path: Path) -> None:
    """The post-deploy script installs this checkout, without dependencies, from any directory."""
    script = env_file.with_suffix(".post-deploy.sh")
    assert script.exists(), f"{script.name} is missing: the package would not reach the {env_file.stem} environment"
    text = script.read_text()
    assert re.search(r"pip install\b.*--no-deps\b.*-e \"\$AIRSHOWER_ROOT\"", text), (
        f"{script.name}: expected 'python -m pip install --no-deps ... -e \"$AIRSHOWER_ROOT\"'"
    )
    deps, _ = _conda_deps(env_file)
    assert {"pip", "setuptools", "wheel"} <= set(deps), (
        f"{env_file.name}: the post-deploy script needs pip, setuptools and wheel (build without PyPI)"
    )
    # run it as Snakemake would (another working directory), pip in dry-run mode
    env = {**os.environ, "AIRSHOWER_ROOT": str(REPO), "PIP_DRY_RUN": "1", "PIP_NO_INDEX": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Would install airshower" in proc.stdout, proc.stdout
    # without the variable it stops with a message instead of installing something else
    env.pop("AIRSHOWER_ROOT")
    proc = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "AIRSHOWER_ROOT" in proc.stderr


def test_workflow_sets_airshower_root(repo: Path, tmp_path: Path) -> None:
    """What the post-deploy scripts read: the checkout whose workflow runs (any working directory)."""
    (tmp_path / "Snakefile").write_text(  # as workflow/Snakefile: validate.smk, then common.smk
        f"configfile: {str(repo / 'tests/config/config.yaml')!r}\n"
        f"include: {str(repo / 'workflow/rules/validate.smk')!r}\n"
        f"include: {str(repo / 'workflow/rules/common.smk')!r}\n"
        "rule probe:\n"
        "    output: 'root.txt'\n"
        "    shell: 'printf %s \"$AIRSHOWER_ROOT\" > {output}'\n"
    )
    env = {**os.environ, "AIRSHOWER_ROOT": "/nonexistent"}
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", "1", "--quiet", "all", "--directory", str(tmp_path), "--snakefile",
         str(tmp_path / "Snakefile")], capture_output=True, text=True, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "root.txt").read_text() == str(repo)


def _rule_cases() -> list[tuple[str, str, str]]:
    return [(rule, info["command"], info["env"]) for rule, info in sorted(_rules(REPO).items())]


@pytest.mark.parametrize(("rule", "command", "env_file"), _rule_cases(), ids=[c[0] for c in _rule_cases()])
def test_rule_environment_provides_every_import(rule: str, command: str, env_file: str) -> None:
    module = _cli_commands()[command]
    loaded = set(_loaded_by_cli(command))
    assert loaded, f"airshower {command}: no airshower module loaded?"
    users = _third_party_imports(loaded | {module})
    unknown = sorted(set(users) - set(IMPORT_TO_CONDA))
    assert not unknown, (
        f"rule {rule}: imports {unknown} (from {[sorted(users[u]) for u in unknown]}) that IMPORT_TO_CONDA does "
        "not map to a conda package: add them there and to the environment"
    )
    deps, _ = _conda_deps(Path(env_file))
    missing = {name: sorted(users[name]) for name in users if IMPORT_TO_CONDA[name] not in deps}
    assert not missing, (
        f"rule {rule} ({Path(env_file).name}) lacks "
        + "; ".join(f"{IMPORT_TO_CONDA[n]} (imported by {', '.join(m)})" for n, m in sorted(missing.items()))
    )


@pytest.mark.parametrize(("module", "name"), sorted(LAZY))
def test_lazy_imports_still_exist(module: str, name: str) -> None:
    """Each LAZY entry still names an import inside a function of that module."""
    path = _module_file(module)
    assert path is not None, f"LAZY names {module}, which no longer exists"
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = {node.module or ""}
        else:
            continue
        if name in names | {n.split(".")[0] for n in names} and _in_function(node, parents):
            return
    pytest.fail(f"LAZY: {module} no longer imports {name} inside a function; remove the entry")


@pytest.mark.parametrize("env_file", sorted(ENV_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_workflow_environment_has_nothing_unused(env_file: Path) -> None:
    """Each package of a rule environment is imported by some rule using it (lean environments)."""
    cases = [c for c in _rule_cases() if Path(c[2]) == env_file]
    if not cases:
        pytest.skip(f"no rule uses {env_file.name} yet")
    needed = {"python", "pip", "setuptools", "wheel"}
    for _rule, command, _env in cases:
        module = _cli_commands()[command]
        users = _third_party_imports(set(_loaded_by_cli(command)) | {module})
        needed |= {IMPORT_TO_CONDA[name] for name in users if name in IMPORT_TO_CONDA}
    deps, _ = _conda_deps(env_file)
    unused = sorted(set(deps) - needed)
    assert not unused, f"{env_file.name}: {unused} imported by none of its rules ({[c[0] for c in cases]})"
