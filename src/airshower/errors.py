"""Exceptions the pipeline raises for bad input; the CLI turns them into a clear message and exit code 2."""


class AirshowerError(Exception):
    """Base of every error caused by input (config, files) rather than by a bug."""


class ConfigError(AirshowerError):
    """The configuration asks for something invalid; the message names key, value and what is allowed."""


class InputFileError(AirshowerError):
    """An input file is missing, unreadable or breaks its contract; the message names the file."""


class ExportError(AirshowerError):
    """A network cannot be exported, or its export does not reproduce it; the message names model and cause."""


class OutputFileError(AirshowerError):
    """An output cannot be written where it was asked for; the message names the path."""


class TrainingError(AirshowerError):
    """Training cannot go on (a non-finite loss, a checkpoint that does not fit); the message says where."""
