# train: one job per model of the study -> results/{study}/models/{model}/ (airshower.training.engine)
# (all_targets() lists layout.model_dir(STUDY, m) / "model.pt" for every m in config["models"])
import re


rule train:
    """Train one network on the training dataset: CPU, one GPU (bf16), resumable after a kill."""
    input:
        tensors=str(layout.tensor_file(STUDY, config["train_dataset"])),
        code=stage_code("train"),
    output:
        model=str(layout.model_dir(STUDY, "{model}") / "model.pt"),
        history=str(layout.model_dir(STUDY, "{model}") / "history.csv"),
        info=str(layout.model_dir(STUDY, "{model}") / "train_info.json"),
        provenance=str(layout.model_dir(STUDY, "{model}") / "provenance.json"),
    log:
        str(layout.log_file(STUDY, "train", "{model}")),
    wildcard_constraints:
        model="|".join(re.escape(m) for m in config["models"]),
    conda:
        "../envs/train.yaml"
    threads: 4
    resources:
        gpu=1,
    params:
        # what training this model reads: the training section and its own entry without its display
        # label, nothing of the other models (changing one model re-runs only that model's training;
        # changing a label redraws the figures only)
        cfg=lambda wc: json.dumps(
            {
                "training": config["training"],
                "models": {wc.model: {k: v for k, v in config["models"][wc.model].items() if k != "label"}},
            },
            sort_keys=True,
        ),
        outdir=lambda wc: str(layout.model_dir(STUDY, wc.model)),
        # resumable state: not an output, so it survives a failed job (Snakemake deletes outputs)
        state=lambda wc: str(layout.state_dir(STUDY, wc.model)),
        # `airshower`, or torchrun with one process per GPU when the profile gives several
        # (not a rerun trigger: the GPU count does not change what is trained)
        launch=lambda wildcards, resources: launcher(resources),
    message:
        "train {wildcards.model} on {input.tensors} -> {params.outdir} (epochs, loss, ETA: {log})"
    shell:
        "{params.launch} train --config-json {params.cfg:q} --model {wildcards.model} --tensors {input.tensors:q} "
        "--output {params.outdir:q} --state-dir {params.state:q} --threads {threads} > {log:q} 2>&1"
