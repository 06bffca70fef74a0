# The study's workflow lives in workflow/Snakefile (rules in workflow/rules/, profiles in
# workflow/profiles/; profiles/default links to its default profile, which Snakemake reads
# from here); this file makes it the one `snakemake` runs from the repository root.


include: "workflow/Snakefile"


# Snakemake keeps no default target of an included file: the study's `rule all` (every
# figure, table and trained model) stays the one run when no target is named.
workflow.default_target = "all"
