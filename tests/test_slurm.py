"""The workflow on a cluster: the launcher of multi-GPU jobs, and a real SLURM scheduler.

* ``launcher`` (workflow/rules/common.smk), always: through Snakemake, as a rule uses it,
  with GPU counts from the rule's resources and from ``--set-resources``; the torchrun
  command it returns really starts one process per GPU; the GPU count is no rerun trigger.
* The tiny study (tests/config/config.yaml) through ``--workflow-profile workflow/profiles/slurm``
  on a real SLURM cluster, only with ``AIRSHOWER_SLURM_TEST=1`` (``make test-slurm`` starts a
  one-node cluster on loopback with scripts/slurm-cluster.sh and sets it): every job of a
  non-local rule runs as its own SLURM job, GPU rules get their GPUs, and a job that fails
  makes Snakemake exit non-zero.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")


def _env(**extra: str) -> dict[str, str]:
    """The environment of a Snakemake run: this environment's console scripts (airshower,
    torchrun) first on PATH, as in an activated environment; SLURM jobs inherit it."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


# --- launcher ----------------------------------------------------------------------------------

CASES = {
    "cpu": {},
    "gpu1": {"gpu": 1},
    "gpu2": {"gpu": 2},
    "gpus3": {"gpus": 3},
    "gres_untyped": {"gres": "gpu:4"},
    "gres_typed": {"gres": "gpu:a100:2"},
    "gres_one": {"gres": "gpu"},
    "two_nodes": {"gpu": 2, "nodes": 2},
    "override": {},
}
EXPECTED = {
    "cpu": "airshower",
    "gpu1": "airshower",
    "gpu2": "torchrun --standalone --nnodes 1 --nproc_per_node 2 -m airshower.cli",
    "gpus3": "torchrun --standalone --nnodes 1 --nproc_per_node 3 -m airshower.cli",
    "gres_untyped": "torchrun --standalone --nnodes 1 --nproc_per_node 4 -m airshower.cli",
    "gres_typed": "torchrun --standalone --nnodes 1 --nproc_per_node 2 -m airshower.cli",
    "gres_one": "airshower",
}


def _probe_snakefile(repo: Path) -> str:
    """A workflow with the real common.smk and a rule that uses launcher() as train.smk should."""
    return f"""
configfile: {str(repo / "tests/config/config.yaml")!r}
include: {str(repo / "workflow/rules/validate.smk")!r}
include: {str(repo / "workflow/rules/common.smk")!r}
CASES = {json.dumps(CASES)}

rule launch:
    output: "launch/{{case}}.txt"
    params:
        launch=lambda wildcards, resources: launcher(resources),
    resources:
        gpu=lambda wc: CASES[wc.case].get("gpu", 0),
        gpus=lambda wc: CASES[wc.case].get("gpus", 0),
        gres=lambda wc: CASES[wc.case].get("gres", "none"),
        nodes=lambda wc: CASES[wc.case].get("nodes", 1),
    shell: "echo {{params.launch:q}} > {{output}}"

rule run:
    output: "run/{{case}}.txt"
    params:
        launch=lambda wildcards, resources: launcher(resources),
    resources:
        gpu=lambda wc: CASES[wc.case].get("gpu", 0),
    shell: "{{params.launch}} --help > {{output}}"
"""


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "--snakefile", str(workdir / "Snakefile"), "--directory", str(workdir), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=False)


@pytest.fixture(scope="module")
def probe(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("launch")
    (workdir / "Snakefile").write_text(_probe_snakefile(repo))
    targets = [f"launch/{case}.txt" for case in EXPECTED] + ["run/gpu1.txt", "run/gpu2.txt"]
    proc = _snakemake(workdir, *targets)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_launcher_command(probe: Path, case: str) -> None:
    assert (probe / f"launch/{case}.txt").read_text().strip() == EXPECTED[case]


def test_launcher_follows_set_resources(probe: Path) -> None:
    """A profile's set-resources (here on the command line) decides; the rule's value is a default."""
    out = probe / "launch/override.txt"
    proc = _snakemake(probe, str(out.relative_to(probe)), "--set-resources", "launch:gpu=8")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert out.read_text().strip() == "torchrun --standalone --nnodes 1 --nproc_per_node 8 -m airshower.cli"


def test_gpu_count_is_no_rerun_trigger(probe: Path) -> None:
    """Params that read `resources` are 'derived' for Snakemake: more GPUs do not retrain."""
    targets = [f"launch/{case}.txt" for case in EXPECTED]
    proc = _snakemake(probe, "--dry-run", *targets, "--set-resources", "launch:gpu=8", "launch:gpus=8")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_launcher_commands_run(probe: Path) -> None:
    """The returned commands work: torchrun starts one airshower.cli process per GPU."""
    assert (probe / "run/gpu1.txt").read_text().count("usage: airshower") == 1
    assert (probe / "run/gpu2.txt").read_text().count("usage: airshower") == 2


def test_launcher_refuses_several_nodes(probe: Path) -> None:
    proc = _snakemake(probe, "launch/two_nodes.txt")
    assert proc.returncode != 0
    assert "nodes = 2" in proc.stderr and "docs/cluster.md" in proc.stderr, proc.stderr[-3000:]


# --- a real SLURM cluster ----------------------------------------------------------------------

SLURM = os.environ.get("AIRSHOWER_SLURM_TEST") == "1"
needs_slurm = pytest.mark.skipif(
    not SLURM, reason="needs a SLURM cluster: `make test-slurm` starts one and sets AIRSHOWER_SLURM_TEST=1"
)
# test-only settings on top of the profile: a job's first status check after 5 s, not 40 s
FAST_STATUS = ("--slurm-init-seconds-before-status-checks", "5")


def _slurm_snakemake(repo: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        SNAKEMAKE, "--snakefile", str(repo / "workflow/Snakefile"), "--directory", str(workdir),
        "--configfile", str(workdir / "config.yaml"), "--workflow-profile", str(repo / "workflow/profiles/slurm"),
        *FAST_STATUS, *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=False, timeout=900)


def _run_id(output: str) -> str:
    match = re.search(r"SLURM run ID: ([0-9a-f-]{36})", output)
    assert match, f"no SLURM run ID in the output:\n{output[-3000:]}"
    return match.group(1)


def _slurm_jobs(run_id: str) -> list[dict[str, str]]:
    """The SLURM jobs of one Snakemake run (the plugin names them by the run ID) from sacct."""
    start = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    proc = subprocess.run(
        ["sacct", "-X", "--parsable2", "--noheader", "--starttime", start, "--name", run_id,
         "--format", "JobIDRaw,State,Comment,AllocTRES,ExitCode"],
        capture_output=True, text=True, env=_env(), check=True,
    )
    keys = ("id", "state", "comment", "tres", "exit")
    return [dict(zip(keys, line.split("|"))) for line in proc.stdout.splitlines() if line.strip()]


def _jobs_by_kind(output: str) -> tuple[dict[str, int], dict[str, int]]:
    """(rule -> jobs submitted, rule -> jobs run locally) from Snakemake's log of a run.

    The rules print a ``message:`` instead of their name, so the rule of a job is read from
    Snakemake's "Finished jobid: N (Rule: r)" line, and a job counts as submitted when the
    SLURM executor said "Job N has been submitted with SLURM jobid ...".
    """
    rule_of = {int(j): r for j, r in re.findall(r"^Finished jobid: (\d+) \(Rule: (\w+)\)", output, re.M)}
    submitted = {int(j) for j in re.findall(r"Job (\d+) has been submitted with SLURM jobid", output)}
    remote: dict[str, int] = {}
    local: dict[str, int] = {}
    for jobid, rule in rule_of.items():
        target = remote if jobid in submitted else local
        target[rule] = target.get(rule, 0) + 1
    return remote, local


def _failure_report(proc: subprocess.CompletedProcess, workdir: Path) -> str:
    logs = sorted(workdir.glob("logs/**/*.log")) + sorted(workdir.glob(".snakemake/slurm_logs/**/*.log"))
    return proc.stderr[-5000:] + "".join(f"\n--- {p}\n{p.read_text()[-2000:]}" for p in logs)


@pytest.fixture(scope="module")
def slurm_run(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The tiny study through the SLURM profile; (working directory, Snakemake's log)."""
    if shutil.which("sbatch", path=_env()["PATH"]) is None:
        pytest.fail("AIRSHOWER_SLURM_TEST=1 but no sbatch on PATH (scripts/slurm-cluster.sh install)")
    workdir = tmp_path_factory.mktemp("slurm")
    shutil.copy(repo / "tests/config/config.yaml", workdir / "config.yaml")
    proc = _slurm_snakemake(repo, workdir)
    if proc.returncode != 0:
        pytest.fail("the tiny study failed on SLURM:\n" + _failure_report(proc, workdir))
    return workdir, proc.stdout + proc.stderr


@needs_slurm
def test_slurm_run_is_complete(repo: Path, slurm_run: tuple[Path, str]) -> None:
    """Snakemake reached the default target, and every output of every job exists."""
    workdir, output = slurm_run
    assert re.search(r"^Finished jobid: \d+ \(Rule: all\)$", output, re.M), output[-3000:]
    remote, local = _jobs_by_kind(output)
    assert remote and local, output[-3000:]
    # a dry run of the finished study finds every output present and up to date
    proc = _slurm_snakemake(repo, workdir, "--dry-run")
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Nothing to be done" in text, text[-3000:]


@needs_slurm
def test_every_cluster_job_ran_as_its_own_slurm_job(slurm_run: tuple[Path, str]) -> None:
    _, output = slurm_run
    remote, local = _jobs_by_kind(output)
    assert "simulate" in remote, f"no simulate job was submitted:\n{output[-3000:]}"
    assert set(local) <= {"all", "evaluate", "figures"}, f"unexpected local rules {sorted(local)}"
    assert not {"evaluate", "figures"} & set(remote), "the cheap stages (localrules) were submitted to SLURM"
    jobs = _slurm_jobs(_run_id(output))
    per_rule: dict[str, int] = {}
    for job in jobs:
        assert job["state"] == "COMPLETED", job
        rule = re.match(r"rule_(\w+?)(?:_wildcards_.*)?$", job["comment"])
        assert rule, f"job {job['id']} has no rule comment ({job['comment']!r}); AccountingStoreFlags=job_comment?"
        per_rule[rule.group(1)] = per_rule.get(rule.group(1), 0) + 1
    assert per_rule == remote, f"SLURM jobs per rule {per_rule} != jobs Snakemake submitted {remote}"
    assert not set(per_rule) & set(local), "a local rule was submitted to SLURM"


@needs_slurm
def test_gpu_rules_get_their_gpus(slurm_run: tuple[Path, str]) -> None:
    _, output = slurm_run
    jobs = _slurm_jobs(_run_id(output))
    gpu_jobs = [j for j in jobs if re.match(r"rule_(train|predict)(_wildcards_|$)", j["comment"])]
    if not gpu_jobs:
        pytest.skip("the workflow has no train/predict rule yet")
    for job in gpu_jobs:
        assert "gres/gpu=1" in job["tres"], job
    cpu_jobs = [j for j in jobs if j not in gpu_jobs]
    assert cpu_jobs and all("gres/gpu" not in j["tres"] for j in cpu_jobs), cpu_jobs


@needs_slurm
def test_failing_slurm_job_fails_the_run(repo: Path, slurm_run: tuple[Path, str], tmp_path: Path) -> None:
    """A config that makes the train job fail inside SLURM (a batch larger than the training
    split, which only the data can tell): Snakemake exits non-zero and says which rule."""
    workdir, output = slurm_run
    remote, _ = _jobs_by_kind(output)
    if "train" not in remote:
        pytest.skip("the workflow has no train rule yet")
    failing = tmp_path / "failing"
    shutil.copytree(workdir, failing, symlinks=True)
    config = yaml.safe_load((failing / "config.yaml").read_text())
    train = config["train_dataset"]
    # the training split is at most (triggered events - 1 validation event) < events thrown
    config.setdefault("training", {})["batch_size"] = int(config["datasets"][train]["events"])
    (failing / "config.yaml").write_text(yaml.safe_dump(config))
    proc = _slurm_snakemake(repo, failing)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text[-3000:]
    assert re.search(r"Error in rule train", text), text[-3000:]
    states = {j["comment"]: j["state"] for j in _slurm_jobs(_run_id(text))}
    assert any(re.match(r"rule_train(_wildcards_|$)", c) and s == "FAILED" for c, s in states.items()), states
    log = next((failing / "logs").glob("*/train/**/*.log")).read_text()
    assert "batch_size" in log, log[-2000:]


@needs_slurm
def test_multi_gpu_training_runs_under_torchrun(repo: Path, slurm_run: tuple[Path, str], tmp_path: Path) -> None:
    """The profile gives train two GPUs: one SLURM job with --gpus=2, torchrun with 2 processes.

    The loopback node's GPUs are stand-ins, so the two processes train on the CPU (gloo);
    what is tested is the request, the launch and that both processes join the training.
    """
    workdir, output = slurm_run
    remote, _ = _jobs_by_kind(output)
    if "train" not in remote:
        pytest.skip("the workflow has no train rule yet")
    multi = tmp_path / "multi"
    shutil.copytree(workdir, multi, symlinks=True)
    config = yaml.safe_load((multi / "config.yaml").read_text())
    model = sorted(config["models"])[0]
    target = f"results/{config['study']}/models/{model}/model.pt"
    profile = yaml.safe_load((repo / "workflow/profiles/slurm/profile.yaml").read_text())
    train = {**profile["set-resources"]["train"], "gpu": 2}
    proc = _slurm_snakemake(
        repo, multi, target, "--forcerun", "train", "--set-resources", *(f"train:{k}={v}" for k, v in train.items())
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, _failure_report(proc, multi)
    assert "torchrun --standalone --nnodes 1 --nproc_per_node 2 -m airshower.cli train" in text, (
        "train.smk does not start training through launcher(resources) "
        "(params: launch=lambda wildcards, resources: launcher(resources); shell: '{params.launch} train ...'):\n"
        + text[-3000:]
    )
    info = json.loads((multi / f"results/{config['study']}/models/{model}/train_info.json").read_text())
    assert info["processes"] == 2, info
    jobs = [j for j in _slurm_jobs(_run_id(text)) if re.match(r"rule_train(_wildcards_|$)", j["comment"])]
    assert len(jobs) == 1 and jobs[0]["state"] == "COMPLETED" and "gres/gpu=2" in jobs[0]["tres"], jobs
