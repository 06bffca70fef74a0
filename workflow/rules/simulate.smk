rule simulate:
    """Simulate one shard of a dataset: SD-1500 events with Monte-Carlo truth."""
    input:
        package_sources("simulate.py", "physics", "detector", "hexgrid.py", "io/events.py"),
    output:
        "data/sim/{dataset}/{shard}.root",
    params:
        cfg=lambda wc: simulate_params(wc.dataset),
    log:
        "logs/simulate/{dataset}/{shard}.log",
    conda:
        "../envs/simulate.yaml"
    wildcard_constraints:
        shard=r"\d+",
    shell:
        "airshower simulate --config-json {params.cfg:q} --dataset {wildcards.dataset} "
        "--shard {wildcards.shard} --output {output} > {log} 2>&1"


rule validate_simulation:
    """Validation figures of the simulation (Xmax, LDF, muon fraction, traces, a footprint) for the training dataset's settings."""
    input:
        package_sources(
            "simulate.py",
            "physics",
            "hexgrid.py",
            "detector",
            "io/events.py",
            "figures/validation.py",
            "figures/paper_style.py",
            "atomic.py",
        ),
    output:
        directory(f"{RESULTS}/validation"),
    params:
        cfg=simulate_params(config["train_dataset"]),
        dataset=config["train_dataset"],
    log:
        f"logs/{STUDY}/validate_simulation.log",
    conda:
        "../envs/simulate.yaml"
    shell:
        "airshower simulate --config-json {params.cfg:q} --dataset {params.dataset} "
        "--validate {output} > {log} 2>&1"
