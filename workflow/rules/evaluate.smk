# predict -> evaluate -> figures: trained models on every test dataset, their metrics, the paper figures.
import re

from airshower.figures.paper import TABLES, report_entries

EVAL_MODELS = list(config["models"])
TEST_DATASETS = list(config["test_datasets"])
NOMINAL_DATASET = TEST_DATASETS[0]
FIGURES_DIR = f"{RESULTS}/figures"
MODEL_PATTERN = "|".join(re.escape(m) for m in EVAL_MODELS)
DATASET_PATTERN = "|".join(re.escape(d) for d in TEST_DATASETS)

# the package modules of each stage (a change to them re-runs it)
PREDICT_CODE = package_sources(
    "evaluation/predict.py",
    "evaluation/prediction_file.py",
    "atomic.py",
    "models",
    "training/checkpoint.py",
    "training/normalise.py",
    "training/data.py",
    "training/device.py",
    "io/tensors.py",
    "io/files.py",
    "batch.py",
    "hexgrid.py",
    "targets.py",
)
EVALUATE_CODE = package_sources(
    "targets.py",
    "evaluation/metrics.py",
    "evaluation/binned.py",
    "evaluation/bootstrap.py",
    "evaluation/merit.py",
    "evaluation/prediction_file.py",
    "atomic.py",
    "io/files.py",
)
# not figures/validation.py or figures/style.py: other stages' plots
FIGURES_CODE = package_sources(
    "figures/paper.py",
    "figures/paper_style.py",
    "figures/study.py",
    "figures/performance.py",
    "figures/reconstruction.py",
    "figures/headline.py",
    "figures/learning_curves.py",
    "figures/distributions.py",
    "figures/event_display.py",
    "figures/summary.py",
    "figures/target_summary.py",
    "evaluation/metrics.py",
    "evaluation/binned.py",
    "evaluation/prediction_file.py",
    "atomic.py",
    "hexgrid.py",
    "io/tensors.py",
    "io/files.py",
    "targets.py",
)
# what drawing reads: the `figures` section (keys sorted), the test datasets, the models' names
# and types in the config's order, which sets their order and colours in every figure (as with
# `airshower figures --config`)
FIGURES_PARAMS = json.dumps(
    {
        "study": STUDY,
        "test_datasets": TEST_DATASETS,
        "models": {m: {"type": config["models"][m]["type"]} for m in EVAL_MODELS},
        "figures": json.loads(json.dumps(config["figures"], sort_keys=True)),
    }
)


rule predict:
    """Reconstruct one test dataset with one trained model (physical units, truth alongside)."""
    input:
        model=f"{RESULTS}/models/{{model}}/model.pt",
        tensors="data/tensors/{dataset}.h5",
        code=PREDICT_CODE,
    output:
        f"{RESULTS}/predictions/{{dataset}}/{{model}}.h5",
    params:
        # nothing of the config: the checkpoint says what the network is and predicts
        cfg=json.dumps({}),
    threads: 2
    resources:
        gpu=1,
    log:
        f"logs/predict/{STUDY}/{{dataset}}/{{model}}.log",
    conda:
        "../envs/train.yaml"
    wildcard_constraints:
        model=MODEL_PATTERN,
        dataset=DATASET_PATTERN,
    shell:
        "airshower predict --config-json {params.cfg:q} --model-dir {input.model:q} --tensors {input.tensors:q} "
        "--dataset {wildcards.dataset} --model {wildcards.model} --output {output:q} --threads {threads} "
        "> {log:q} 2>&1"


rule evaluate:
    """Bias, resolution (with bootstrap errors) and merit factor of one model on one test dataset."""
    input:
        predictions=f"{RESULTS}/predictions/{{dataset}}/{{model}}.h5",
        code=EVALUATE_CODE,
    output:
        f"{RESULTS}/metrics/{{dataset}}/{{model}}.json",
    params:
        cfg=json.dumps({"evaluation": config["evaluation"]}, sort_keys=True),
    log:
        f"logs/evaluate/{STUDY}/{{dataset}}/{{model}}.log",
    conda:
        "../envs/evaluate.yaml"
    wildcard_constraints:
        model=MODEL_PATTERN,
        dataset=DATASET_PATTERN,
    shell:
        "airshower evaluate --config-json {params.cfg:q} --predictions {input.predictions:q} --output {output:q} "
        "> {log:q} 2>&1"


rule figures:
    """The paper figures of every model side by side, and the summary tables (into results/{study}/figures)."""
    input:
        metrics=[f"{RESULTS}/metrics/{ds}/{m}.json" for ds in TEST_DATASETS for m in EVAL_MODELS],
        predictions=[f"{RESULTS}/predictions/{NOMINAL_DATASET}/{m}.h5" for m in EVAL_MODELS],
        history=[f"{RESULTS}/models/{m}/history.csv" for m in EVAL_MODELS],
        info=[f"{RESULTS}/models/{m}/train_info.json" for m in EVAL_MODELS],
        tensors=f"data/tensors/{NOMINAL_DATASET}.h5",
        code=FIGURES_CODE,
    output:
        [
            (
                report(
                    f"{FIGURES_DIR}/{name}",
                    caption=f"../report/{kind}.rst",
                    category="Figures",
                    subcategory=model or "All models",
                    labels={"figure": name.rsplit(".", 1)[0]},
                )
                if shown
                else f"{FIGURES_DIR}/{name}"
            )
            for name, kind, model, shown in report_entries(
                EVAL_MODELS, TEST_DATASETS, config["figures"]["formats"]
            )
        ],
        [f"{FIGURES_DIR}/{name}" for name in TABLES],
    params:
        cfg=FIGURES_PARAMS,
    log:
        f"logs/figures/{STUDY}.log",
    conda:
        "../envs/evaluate.yaml"
    shell:
        "airshower figures --config-json {params.cfg:q} --tensors {input.tensors:q} > {log:q} 2>&1"
