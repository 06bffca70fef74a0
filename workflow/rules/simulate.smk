# simulate: one shard of a dataset -> data/{study}/sim/{dataset}/{shard}.root (airshower.simulate)


rule simulate:
    """Simulate one shard of a dataset: SD-1500 events with Monte-Carlo truth."""
    input:
        # not the validation figures: `airshower simulate` draws them only with --validate
        code=stage_code("simulate", exclude=("airshower.figures",)),
    output:
        str(layout.shard_file(STUDY, "{dataset}", "{shard}")),
    log:
        str(layout.log_file(STUDY, "simulate", "{dataset}", "{shard}")),
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../envs/simulate.yaml"
    params:
        cfg=lambda wc: simulate_params(wc.dataset),
    message:
        "simulate {wildcards.dataset}, shard {wildcards.shard} -> {output} (log: {log})"
    shell:
        "airshower simulate --config-json {params.cfg:q} --dataset {wildcards.dataset} "
        "--shard {wildcards.shard} --output {output:q} > {log:q} 2>&1"


rule validate_simulation:
    """Validation figures of the simulation (Xmax, LDF, muon fraction, traces, a footprint) for the training dataset's settings."""
    input:
        code=stage_code("simulate"),
    output:
        # the PNG of each figure in the report (the PDFs beside them)
        report(
            directory(str(layout.validation_dir(STUDY))),
            patterns=["{name}.png"],
            caption="../report/validation.rst",
            category="Simulation",
            subcategory="Validation",
            labels={"figure": "{name}"},
        ),
    log:
        str(layout.log_file(STUDY, "validate_simulation")),
    conda:
        "../envs/simulate.yaml"
    params:
        cfg=simulate_params(config["train_dataset"]),
        dataset=config["train_dataset"],
    message:
        "validation figures of the simulation of {params.dataset} -> {output} (log: {log})"
    shell:
        "airshower simulate --config-json {params.cfg:q} --dataset {params.dataset} "
        "--validate {output:q} > {log:q} 2>&1"
