# The config against the schema (defaults filled in). A violation stops the workflow with one
# line per error, where and what, instead of Snakemake's dump of the whole schema.
from collections.abc import Mapping
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


def given_on_command_line(path, given):
    """Whether the value at ``path`` (keys and list indices) was set by --config (``given``)."""
    node = given
    for key in path:
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return False
    return True


def type_errors(error):
    """``error`` and the errors inside it (anyOf, oneOf) that are wrong types."""
    if error.validator == "type":
        yield error
    for sub in error.context or ():
        yield from type_errors(sub)


def coerce_command_line_values(cfg, schema, given):
    """Snakemake reads the values inside a nested --config entry as strings (YAML's
    BaseLoader): `--config training='{epochs: 7}'` gives epochs '7'. Where the schema expects
    another type and such a string reads (yaml.safe_load) as a value of that type, put the
    value in its place, until nothing changes; other errors stay for the validation. Values
    of config files are left as they are: a quoted "7" there is an error. ``given``: the --config
    entries (workflow.config_settings.config)."""
    validator = jsonschema.Draft202012Validator(schema)
    changed = True
    while changed:
        changed = False
        for error in list(validator.iter_errors(cfg)):
            for e in type_errors(error):
                path = list(e.absolute_path)
                if not path or not isinstance(e.instance, str) or not given_on_command_line(path, given):
                    continue
                try:
                    value = yaml.safe_load(e.instance)
                except yaml.YAMLError:
                    continue
                types = e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
                if isinstance(value, str) or not any(validator.is_type(value, t) for t in types):
                    continue
                parent = cfg
                for key in path[:-1]:
                    parent = parent[key]
                if parent[path[-1]] is e.instance:  # not yet replaced through another error
                    parent[path[-1]] = value
                    changed = True


# the --config entries (the package's full schema coerces those of models.<name>.training
# again in common.smk)
COMMAND_LINE_CONFIG = dict(workflow.config_settings.config)
coerce_command_line_values(
    config,
    yaml.safe_load((Path(workflow.current_basedir) / SCHEMA_FILE).read_text()),
    COMMAND_LINE_CONFIG,
)
try:
    validate(config, SCHEMA_FILE, set_default=True)
except WorkflowError:
    lines = config_errors(config, Path(workflow.current_basedir) / SCHEMA_FILE)
    raise WorkflowError(
        "invalid configuration (allowed keys, types and values: workflow/schemas/config.schema.yaml, "
        "config/README.md):\n  " + "\n  ".join(lines or ["see the schema"])
    ) from None
