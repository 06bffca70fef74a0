# train: one job per model of the study -> results/{study}/models/{model}/
# (all_targets() lists f"{RESULTS}/models/{m}/model.pt" for every m in config["models"])
import re


rule train:
    """Train one network on the training dataset: CPU, one GPU (bf16), resumable after a kill."""
    input:
        tensors=f"data/tensors/{config['train_dataset']}.h5",
        code=package_sources("training", "models", "atomic.py", "batch.py", "hexgrid.py", "io/tensors.py", "io/files.py", "targets.py"),
    output:
        model=f"{RESULTS}/models/{{model}}/model.pt",
        history=f"{RESULTS}/models/{{model}}/history.csv",
        info=f"{RESULTS}/models/{{model}}/train_info.json",
        provenance=f"{RESULTS}/models/{{model}}/provenance.json",
    params:
        # what training this model reads: the training section and its own entry, nothing
        # of the other models (changing one model re-runs only that model's training)
        cfg=lambda wc: json.dumps(
            {"training": config["training"], "models": {wc.model: config["models"][wc.model]}}, sort_keys=True
        ),
        outdir=lambda wc: f"{RESULTS}/models/{wc.model}",
        # resumable state: not an output, so it survives a failed job (Snakemake deletes outputs)
        state=lambda wc: f"{RESULTS}/.state/train/{wc.model}",
        # `airshower`, or torchrun with one process per GPU when the profile gives several
        # (not a rerun trigger: the GPU count does not change what is trained)
        launch=lambda wildcards, resources: launcher(resources),
    threads: 4
    resources:
        gpu=1,
    log:
        f"logs/train/{STUDY}/{{model}}.log",
    conda:
        "../envs/train.yaml"
    wildcard_constraints:
        model="|".join(re.escape(m) for m in config["models"]),
    shell:
        "{params.launch} train --config-json {params.cfg:q} --model {wildcards.model} --tensors {input.tensors:q} "
        "--output {params.outdir:q} --state-dir {params.state:q} --threads {threads} > {log:q} 2>&1"
