"""Recognising what aefeatures wrote: the artifact kinds.

:func:`artifact_kind` tells a model directory, checkpoint, MLflow export, table output (a
marked file of one of :data:`~aefeatures.io.formats.TABLE_FORMATS`, or a partitioned directory
of them), report, schema file or ONNX export from anything else; a directory counts only when
it holds nothing but what aefeatures writes there. :mod:`aefeatures.io.sinks` replaces an
existing path only when this module recognises it.

Examples
--------
>>> artifact_kind("no/such/path") is None
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from aefeatures.io.formats import TABLE_FORMATS

ArtifactKind = str
"""What aefeatures wrote: a key of :data:`KIND_NAMES`, or a table format's (``"parquet"``)."""

KIND_NAMES: dict[str, str] = {
    "model": "an aefeatures model directory",
    "checkpoint": "an aefeatures training checkpoint directory",
    "mlflow": "an MLflow export of an aefeatures model",
    "report": "an aefeatures model report",
    "schema": "a schema file written by 'aefeatures schema infer'",
    "onnx": "an ONNX export of an aefeatures model",
}
DIRECTORY_KINDS = {"model", "checkpoint", "mlflow"}
FILE_KINDS = {"report", "schema", "onnx"}

# What each kind of directory holds when aefeatures wrote it (the model's files are also listed in
# its manifest). Written here rather than imported: model/files.py and fitting/checkpoint.py write
# through io/sinks.py, which reads this module.
_MODEL_MANIFEST, _MODEL_FORMAT, _MODEL_FILES = "aefeatures.json", "aefeatures-model", {"report.html"}
_CHECKPOINT_STATE, _CHECKPOINT_FORMAT = "state.json", "aefeatures-checkpoint"
_CHECKPOINT_FILES = {"state.json", "state.safetensors"}
_MLMODEL, _MLFLOW_FLAVOR = "MLmodel", "aefeatures"
_MLFLOW_FILES = {  # what mlflow writes next to MLmodel and the model directory (code: --code-paths copies)
    _MLMODEL, "requirements.txt", "python_env.yaml", "conda.yaml", "input_example.json",
    "serving_input_example.json", "registered_model_meta", "metadata", "code",
}  # fmt: skip
_REPORT_SIGNATURE = ("<!DOCTYPE html>", "<title>aefeatures model:")
_SCHEMA_SIGNATURE = "inferred by aefeatures"


def artifact_kind(path: str | Path, *, name: str | None = None) -> ArtifactKind | None:
    """Which aefeatures artifact ``path`` is, or ``None`` when aefeatures did not write it.

    A directory counts only when it holds nothing but what aefeatures wrote there. ``name``
    stands for the file name where it matters (a temporary's final name).
    """
    target = Path(path)
    suffix = Path(name or target.name).suffix
    if target.is_symlink():
        return None
    if target.is_dir():
        if _is_model_dir(target):
            return "model"
        if _is_checkpoint_dir(target):
            return "checkpoint"
        if _is_mlflow_dir(target):
            return "mlflow"
        return _table_directory_kind(target)
    if not target.is_file():
        return None
    table = next((kind for kind, format_ in TABLE_FORMATS.items() if format_.is_marked(target)), None)
    if table is not None:
        return table
    detectors: tuple[tuple[ArtifactKind, Callable[[Path, str], bool]], ...] = (
        ("report", lambda path, _: _is_report(path)),
        ("schema", _is_schema_file),
        ("onnx", _is_onnx),
    )
    return next((kind for kind, detect in detectors if detect(target, suffix)), None)


def kind_name(kind: ArtifactKind) -> str:
    """What an artifact of ``kind`` is, for messages ("an aefeatures model directory")."""
    return KIND_NAMES[kind] if kind in KIND_NAMES else TABLE_FORMATS[kind].description


def foreign_entries(directory: Path) -> str:
    """For a directory that looks like an aefeatures one: the entries it should not hold."""
    allowed: set[str] | None = None
    if _format_of(directory / _MODEL_MANIFEST) == _MODEL_FORMAT:
        allowed = _model_entries(directory)
    elif _format_of(directory / _CHECKPOINT_STATE) == _CHECKPOINT_FORMAT:
        allowed = _CHECKPOINT_FILES
    if allowed is None:
        return ""
    extra = sorted(p.name for p in directory.iterdir() if p.name not in allowed)
    return f" (it holds files of its own: {', '.join(extra[:5])})" if extra else ""


def output_is_directory(kind: str | None) -> bool | None:
    """Whether an output of ``kind`` is a directory (``None``: either)."""
    if kind in DIRECTORY_KINDS:
        return True
    return False if kind in FILE_KINDS else None


def _format_of(manifest: Path) -> object:
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record.get("format") if isinstance(record, dict) else None


def _model_entries(directory: Path) -> set[str]:
    try:
        files = json.loads((directory / _MODEL_MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        files = {}
    return {_MODEL_MANIFEST, *_MODEL_FILES, *(files if isinstance(files, dict) else {})}


def _only_regular_files(directory: Path, allowed: set[str]) -> bool:
    entries = list(directory.iterdir())
    return all(p.name in allowed and p.is_file() and not p.is_symlink() for p in entries)


def _is_model_dir(directory: Path) -> bool:
    return _format_of(directory / _MODEL_MANIFEST) == _MODEL_FORMAT and _only_regular_files(
        directory, _model_entries(directory)
    )


def _is_checkpoint_dir(directory: Path) -> bool:
    return _format_of(directory / _CHECKPOINT_STATE) == _CHECKPOINT_FORMAT and _only_regular_files(
        directory, _CHECKPOINT_FILES
    )


def _is_mlflow_dir(directory: Path) -> bool:
    """An MLflow model directory of the aefeatures flavor, holding what an MLflow export writes."""
    try:
        import yaml

        flavors = yaml.safe_load((directory / _MLMODEL).read_text(encoding="utf-8")).get("flavors") or {}
        model_data = str(flavors[_MLFLOW_FLAVOR].get("model_data", "model"))
    except Exception:  # no MLmodel, not YAML, not of this flavor
        return False
    if Path(model_data).name != model_data or not _is_model_dir(directory / model_data):
        return False
    return all(p.name in _MLFLOW_FILES | {model_data} for p in directory.iterdir())


def _table_directory_kind(directory: Path) -> ArtifactKind | None:
    """The format of a directory of its marked files (a partitioned output) and nothing else."""
    files = []
    for root, dirs, names in os.walk(directory):
        if any(Path(root, d).is_symlink() for d in dirs):
            return None
        files += [Path(root, name) for name in names]
    if not files or any(f.is_symlink() for f in files):
        return None
    formats = TABLE_FORMATS.items()
    return next((k for k, f in formats if all(p.suffix == f.suffix and f.is_marked(p) for p in files)), None)


def _is_report(path: Path) -> bool:
    text = _head(path, 4096).decode("utf-8", errors="replace")
    return text.startswith(_REPORT_SIGNATURE[0]) and _REPORT_SIGNATURE[1] in text


def _is_schema_file(path: Path, suffix: str) -> bool:
    first_line = _head(path, 512).decode("utf-8", errors="replace").partition("\n")[0]
    return suffix in (".yaml", ".yml") and first_line.startswith("#") and _SCHEMA_SIGNATURE in first_line


def _is_onnx(path: Path, suffix: str) -> bool:
    if suffix != ".onnx":  # parsing is only tried on files named as ONNX files
        return False
    try:
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
    except Exception:  # not installed, or not an ONNX file
        return False
    return any(prop.key.startswith("aefeatures.") for prop in proto.metadata_props)


def _head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""
