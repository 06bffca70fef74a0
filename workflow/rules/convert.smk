# convert: the events of a dataset, from its source -> data/{study}/tensors/{dataset}.h5 (airshower.convert)
import re


rule convert:
    """Convert the events files of one dataset into its hex-grid tensor file (windows around the hottest station)."""
    input:
        # what the dataset's source reads: the simulated shards, or the files its paths match (not on
        # the command line: the stage lists them again from the entry; tens of thousands of JSON
        # events would exceed the shell's argument limit)
        events=lambda wc: [str(f) for f in input_files(STUDY, wc.dataset, config["datasets"][wc.dataset])],
        code=stage_code("convert"),
    output:
        str(layout.tensor_file(STUDY, "{dataset}")),
    log:
        str(layout.log_file(STUDY, "convert", "{dataset}")),
    wildcard_constraints:
        dataset="|".join(re.escape(name) for name in config["datasets"]),
    conda:
        "../envs/convert.yaml"
    params:
        # exactly what the stage reads: the `convert` section, the dataset's entry (its source) and
        # the networks' trace format (the training dataset's), which other formats resample to
        cfg=lambda wc: convert_params(wc.dataset),
    message:
        "convert {wildcards.dataset} -> {output} (log: {log})"
    shell:
        "airshower convert --config-json {params.cfg:q} --dataset {wildcards.dataset} "
        "--output {output:q} > {log:q} 2>&1"
