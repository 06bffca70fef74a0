# convert: the events files of a dataset -> data/tensors/{dataset}.h5 (airshower.convert)
import re


rule convert:
    """Convert the events files of one dataset into its hex-grid tensor file (windows around the hottest station)."""
    input:
        events=lambda wc: shard_files(wc.dataset),
        code=package_sources("convert.py", "hexgrid.py", "io/events.py", "io/tensors.py", "io/files.py", "detector/array.py", "targets.py"),
    output:
        "data/tensors/{dataset}.h5",
    params:
        # exactly what the stage reads: the `convert` section (grid_size, chunk_events, trace_dtype)
        cfg=json.dumps({"convert": config["convert"]}, sort_keys=True),
    log:
        "logs/convert/{dataset}.log",
    conda:
        "../envs/convert.yaml"
    wildcard_constraints:
        dataset="|".join(re.escape(name) for name in config["datasets"]),
    shell:
        "airshower convert --config-json {params.cfg:q} --dataset {wildcards.dataset} "
        "--inputs {input.events:q} --output {output:q} > {log:q} 2>&1"
