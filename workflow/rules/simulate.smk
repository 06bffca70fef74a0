rule simulate:
    """Simulate one shard of a dataset: SD-1500 events with Monte-Carlo truth."""
    input:
        package_sources("simulate.py", "physics", "detector", "io/events.py"),
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
