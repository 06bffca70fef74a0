# predict -> evaluate -> figures: trained models on every test dataset, their metrics, the paper figures.
import re

from airshower.figures.labels import model_labels
from airshower.figures.paper import TABLES, report_entries

EVAL_MODELS = list(config["models"])
TEST_DATASETS = list(config["test_datasets"])
NOMINAL_DATASET = TEST_DATASETS[0]
FIGURES_DIR = layout.figures_dir(STUDY)
# predictions and metrics of every run (the models and their replicas, RUNS of common.smk)
MODEL_PATTERN = "|".join(re.escape(m) for m in RUNS)
DATASET_PATTERN = "|".join(re.escape(d) for d in TEST_DATASETS)


# what drawing reads: the `figures` section, the test datasets, the models' names, types and
# display labels in the config's order, which sets their order and colours in every figure (as
# with `airshower figures --config`), and the test datasets' entries and the `simulation`
# section, from which their display labels follow (airshower.figures.labels); keys sorted
# inside each entry and section; a model trained more than once also its number of replicas
# (the summary tables aggregate them)
# the report's subcategory per model: its display label, as in the figures
MODEL_LABELS = model_labels({m: config["models"][m] for m in EVAL_MODELS})
FIGURES_PARAMS = json.dumps(
    {
        "study": STUDY,
        "test_datasets": TEST_DATASETS,
        "models": {
            m: sorted_keys(
                {k: v for k, v in config["models"][m].items() if k in ("type", "label")}
                | ({"training": {"replicas": replica_count(config, m)}} if replica_count(config, m) > 1 else {})
            )
            for m in EVAL_MODELS
        },
        "datasets": {d: sorted_keys(config["datasets"][d]) for d in TEST_DATASETS},
        "simulation": sorted_keys(config["simulation"]),
        "figures": sorted_keys(config["figures"]),
        "evaluation": {"selection": sorted_keys(config["evaluation"]["selection"])},
    }
)


rule predict:
    """Reconstruct one test dataset with one trained model (physical units, truth alongside)."""
    input:
        model=str(layout.model_dir(STUDY, "{model}") / "model.pt"),
        tensors=str(layout.tensor_file(STUDY, "{dataset}")),
        code=stage_code("predict"),
    output:
        str(layout.predictions_file(STUDY, "{dataset}", "{model}")),
    log:
        str(layout.log_file(STUDY, "predict", "{dataset}", "{model}")),
    wildcard_constraints:
        model=MODEL_PATTERN,
        dataset=DATASET_PATTERN,
    conda:
        "../envs/train.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        # nothing of the config: the checkpoint says what the network is and predicts
        cfg=json.dumps({}),
    message:
        "predict {wildcards.dataset} with {wildcards.model} -> {output} (progress: {log})"
    shell:
        "airshower predict --config-json {params.cfg:q} --model-dir {input.model:q} --tensors {input.tensors:q} "
        "--dataset {wildcards.dataset} --model {wildcards.model} --output {output:q} --threads {threads} "
        "> {log:q} 2>&1"


rule evaluate:
    """Bias, resolution (with bootstrap errors) and merit factor of one model on one test dataset."""
    input:
        predictions=str(layout.predictions_file(STUDY, "{dataset}", "{model}")),
        code=stage_code("evaluate"),
    output:
        str(layout.metrics_file(STUDY, "{dataset}", "{model}")),
    log:
        str(layout.log_file(STUDY, "evaluate", "{dataset}", "{model}")),
    wildcard_constraints:
        model=MODEL_PATTERN,
        dataset=DATASET_PATTERN,
    conda:
        "../envs/evaluate.yaml"
    params:
        cfg=json.dumps({"evaluation": config["evaluation"]}, sort_keys=True),
    message:
        "evaluate {wildcards.model} on {wildcards.dataset} -> {output} (log: {log})"
    shell:
        "airshower evaluate --config-json {params.cfg:q} --predictions {input.predictions:q} --output {output:q} "
        "> {log:q} 2>&1"


rule figures:
    """The paper figures of every model side by side, and the summary tables (into results/{study}/figures)."""
    input:
        # every run's metrics and training record (the replicas' too: the tables aggregate them),
        # the nominal predictions of replica 0 (the figures of events and distributions)
        metrics=[str(layout.metrics_file(STUDY, ds, m)) for ds in TEST_DATASETS for m in RUNS],
        predictions=[str(layout.predictions_file(STUDY, NOMINAL_DATASET, m)) for m in EVAL_MODELS],
        history=[str(layout.model_dir(STUDY, m) / "history.csv") for m in RUNS],
        info=[str(layout.model_dir(STUDY, m) / "train_info.json") for m in RUNS],
        tensors=str(layout.tensor_file(STUDY, NOMINAL_DATASET)),
        code=stage_code("figures"),
    output:
        [
            (
                report(
                    str(FIGURES_DIR / name),
                    caption=f"../report/{kind}.rst",
                    category="Figures",
                    subcategory=MODEL_LABELS[model] if model else "All models",
                    labels={"figure": name.rsplit(".", 1)[0]},
                )
                if shown
                else str(FIGURES_DIR / name)
            )
            for name, kind, model, shown in report_entries(EVAL_MODELS, TEST_DATASETS, config["figures"]["formats"])
        ],
        # the CSV tables (one row per model, every column) in the report, the others beside them
        [
            (
                report(
                    str(FIGURES_DIR / name),
                    caption=f"../report/{name.split('.')[0]}_table.rst",
                    category="Tables",
                    labels={"table": name},
                )
                if name.endswith(".csv")
                else str(FIGURES_DIR / name)
            )
            for name in TABLES
        ],
    log:
        str(layout.log_file(STUDY, "figures")),
    conda:
        "../envs/evaluate.yaml"
    params:
        cfg=FIGURES_PARAMS,
    message:
        f"figures and tables of {len(EVAL_MODELS)} models -> {FIGURES_DIR} (log: {{log}})"
    shell:
        "airshower figures --config-json {params.cfg:q} --tensors {input.tensors:q} > {log:q} 2>&1"
