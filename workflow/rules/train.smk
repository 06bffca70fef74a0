# train: one job per model of the study and replica -> results/{study}/models/{model}/ (airshower.training.engine)
# (all_targets() lists layout.model_dir(STUDY, m) / "model.pt" for every run m of RUNS: the models
# and their replicas `<model>~k`, trained with the model's entry and the replica's seed)
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
        model="|".join(re.escape(m) for m in RUNS),
    conda:
        "../envs/train.yaml"
    threads: 4
    resources:
        gpu=1,
    params:
        # what training this model reads: the training section and its own entry without its display
        # label, nothing of the other models (changing one model re-runs only that model's training;
        # changing a label redraws the figures only), nor `replicas` (raising it adds runs, re-runs none);
        # a replica `<model>~k` reads its model's entry (airshower train derives its seed from k)
        cfg=lambda wc: json.dumps(
            {
                "training": without_replicas(config["training"]),
                "models": {run_model(wc.model): run_entry(run_model(wc.model))},
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
