# The config against the schema (defaults filled in). A violation stops the workflow with one
# line per error, where and what, instead of Snakemake's dump of the whole schema.
from pathlib import Path

import jsonschema
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMA_FILE = "../schemas/config.schema.yaml"  # relative to this file, as validate() reads it


def config_errors(cfg, schema_file):
    """One line per schema violation of the config: where, and what is wrong."""
    schema = yaml.safe_load(Path(schema_file).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: list(e.absolute_path))
    return [f"'{'.'.join(map(str, e.absolute_path)) or '<top level>'}': {e.message}" for e in errors]


try:
    validate(config, SCHEMA_FILE, set_default=True)
except WorkflowError:
    lines = config_errors(config, Path(workflow.current_basedir) / SCHEMA_FILE)
    raise WorkflowError(
        "invalid configuration (allowed keys, types and values: workflow/schemas/config.schema.yaml, "
        "config/README.md):\n  " + "\n  ".join(lines or ["see the schema"])
    ) from None
