"""Exceptions raised by aefeatures.

Each error subclasses the built-in it stands for, so ``except ValueError`` keeps
working, and carries a message that names the column, the problem and the fix.
The CLI maps every :class:`AEFeaturesError` to exit code 1, and :class:`Interrupted` (SIGINT,
SIGTERM) to 128 + the signal number.
"""

from __future__ import annotations


class AEFeaturesError(Exception):
    """Base class of every error aefeatures raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint
        self.details: dict[str, object] = {}  # more fields of the CLI's --json failure object

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\nHint: {self.hint}" if self.hint else text


class DataError(AEFeaturesError, ValueError):
    """Input data cannot be read or used (missing file, empty table, bad values)."""


class SchemaValidationError(DataError):
    """Input data does not conform to the model's pandera schema."""

    def __init__(self, message: str, *, failures: list[dict[str, object]], hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.failures = failures
        self.details["failures"] = failures


class DriftError(DataError):
    """Input data drifted from the training data and ``on_drift="fail"`` was asked for."""


class ModelFileError(AEFeaturesError, OSError):
    """A model directory is missing, incomplete, tampered with or of an unknown format."""


class OutputExistsError(AEFeaturesError, FileExistsError):
    """An output path exists and overwriting was not asked for."""


class ConfigError(AEFeaturesError, ValueError):
    """A parameter has a value outside what is allowed."""


class NotFittedError(AEFeaturesError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class Interrupted(BaseException):
    """The command line was asked to stop by a signal (SIGINT: Ctrl-C, or SIGTERM).

    A ``BaseException``, like ``KeyboardInterrupt``, so no ``except Exception`` swallows it:
    it unwinds the stack, so every ``finally`` runs and unfinished outputs (the hidden
    temporaries of :func:`aefeatures.io.sinks.atomic_path`) are removed on the way out.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
