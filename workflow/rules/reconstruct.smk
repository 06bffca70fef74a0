# reconstruct: every trained model on every dataset of `reconstruct_datasets` (with or without truth)
# -> results/{study}/reconstructed/{dataset}/{model}.h5, a per-event table (airshower.evaluation.reconstruct)
import re

RECONSTRUCT_DATASETS = list(config["reconstruct_datasets"])


if RECONSTRUCT_DATASETS:

    rule reconstruct:
        """One trained model on one dataset to reconstruct: values, sigmas and any reference columns per event."""
        input:
            model=str(layout.model_dir(STUDY, "{model}") / "model.pt"),
            tensors=str(layout.tensor_file(STUDY, "{dataset}")),
            code=stage_code("reconstruct"),
        output:
            str(layout.reconstructed_file(STUDY, "{dataset}", "{model}")),
        log:
            str(layout.log_file(STUDY, "reconstruct", "{dataset}", "{model}")),
        wildcard_constraints:
            model="|".join(re.escape(m) for m in config["models"]),
            dataset="|".join(re.escape(d) for d in RECONSTRUCT_DATASETS),
        conda:
            "../envs/train.yaml"
        threads: 2
        resources:
            gpu=1,
        message:
            "reconstruct {wildcards.dataset} with {wildcards.model} -> {output} (log: {log})"
        shell:
            "airshower reconstruct --model-dir {input.model:q} --inputs {input.tensors:q} --output {output:q} "
            "--quiet > {log:q} 2>&1"


# datasets with a fluorescence-detector reference (the Auger open data with its summary CSV)
FD_DATASETS = [d for d in RECONSTRUCT_DATASETS if has_fd_reference(d)]

if FD_DATASETS:

    rule sd_vs_fd:
        """SD-reconstructed against FD Xmax of the hybrid events of one dataset, for one model."""
        input:
            table=str(layout.reconstructed_file(STUDY, "{dataset}", "{model}")),
            code=stage_code("sd-vs-fd"),
        output:
            str(layout.figures_dir(STUDY) / "sd_vs_fd_{dataset}_{model}.{ext}"),
        log:
            str(layout.log_file(STUDY, "sd_vs_fd", "{dataset}", "{model}.{ext}")),
        wildcard_constraints:
            model="|".join(re.escape(m) for m in config["models"]),
            dataset="|".join(re.escape(d) for d in FD_DATASETS),
            ext="|".join(re.escape(f) for f in config["figures"]["formats"]),
        conda:
            "../envs/evaluate.yaml"
        params:
            # the figure settings and the event selection, as for the study's other figures
            cfg=json.dumps(
                {
                    "figures": sorted_keys(config["figures"]),
                    "evaluation": {"selection": sorted_keys(config["evaluation"]["selection"])},
                }
            ),
        message:
            "SD against FD Xmax of {wildcards.dataset}, {wildcards.model} -> {output} (log: {log})"
        shell:
            "airshower sd-vs-fd --config-json {params.cfg:q} --table {input.table:q} --output {output:q} "
            "> {log:q} 2>&1"
