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

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aefeatures.errors import ModelFileError, shorten
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

# What each kind of directory holds when aefeatures wrote it, in full. Written here rather than
# imported: model/files.py, model/manifest.py and fitting/checkpoint.py write through io/sinks.py,
# which reads this module (the model's names are imported from here by model/manifest.py).
MODEL_MANIFEST, MODEL_FORMAT = "aefeatures.json", "aefeatures-model"
MODEL_WEIGHTS, MODEL_SCHEMA, MODEL_REPORT = "model.safetensors", "schema.yaml", "report.html"
MANIFEST_DIGEST = "manifest_sha256"
"""The manifest's checksum of its other keys, so that an edited manifest is told from a written one."""
MODEL_REQUIRED_KEYS = (
    "format", "format_version", "config", "net", "preprocessing", "calibration", "files", MANIFEST_DIGEST,
)  # fmt: skip
MODEL_METADATA_KEYS = (
    "history",
    "fingerprint",
    "versions",
    "created",
    "drift",
    "report",
    "generation",
    "segments",
)
MAX_MANIFEST_BYTES = 256 << 20  # a manifest of 100k-level categoricals is a few MB
_CHECKPOINT_STATE, _CHECKPOINT_TENSORS = "state.json", "state.safetensors"
_CHECKPOINT_FORMAT, _CHECKPOINT_VERSION = "aefeatures-checkpoint", 1
CHECKPOINT_KEYS = frozenset(
    {"format", "format_version", "epoch", "best_loss", "waited", "epochs", "best_epoch", "elapsed",
     "fingerprint", "tensors_sha256"}
)  # fmt: skip
"""Every key of a checkpoint's ``state.json`` (:mod:`aefeatures.fitting.checkpoint` writes them all)."""
MLMODEL, MLFLOW_FLAVOR = "MLmodel", "aefeatures"
MLFLOW_LOADER = "aefeatures.integrations.mlflow"
_MLFLOW_FILES = {  # what mlflow writes next to MLmodel and the model directory
    MLMODEL, "requirements.txt", "constraints.txt", "python_env.yaml", "conda.yaml", "input_example.json",
    "serving_input_example.json", "registered_model_meta",
}  # fmt: skip
_MLFLOW_DIRECTORIES = {"metadata", "code"}  # code: what --code-paths copied, when MLmodel names it
MAX_MLMODEL_BYTES = 64 << 20  # the signature lists every column: ~1 MB at 10,000 columns
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
    if _format_of(directory / MODEL_MANIFEST) == MODEL_FORMAT:
        allowed = {MODEL_MANIFEST, MODEL_WEIGHTS, MODEL_SCHEMA, MODEL_REPORT}
    elif _format_of(directory / _CHECKPOINT_STATE) == _CHECKPOINT_FORMAT:
        allowed = {_CHECKPOINT_STATE, _CHECKPOINT_TENSORS}
    if allowed is None:
        return ""
    extra = sorted(p.name for p in directory.iterdir() if p.name not in allowed)
    return f" (it holds files of its own: {', '.join(extra[:5])})" if extra else ""


def output_is_directory(kind: str | None) -> bool | None:
    """Whether an output of ``kind`` is a directory (``None``: either)."""
    if kind in DIRECTORY_KINDS:
        return True
    return False if kind in FILE_KINDS else None


def manifest_digest(manifest: dict[str, Any]) -> str:
    """The SHA-256 of a model manifest's keys other than :data:`MANIFEST_DIGEST`, as JSON."""
    content = {key: value for key, value in manifest.items() if key != MANIFEST_DIGEST}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def written_model_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of ``directory`` when it is exactly what aefeatures writes, else ``None``.

    Exactly: the manifest is JSON of the model format, has only the keys aefeatures writes, its
    own checksum matches, it lists exactly the weights and the schema, and each of them is a
    regular file with the recorded SHA-256. A manifest that only claims to be a model is not one.
    """
    record = _json_record(directory / MODEL_MANIFEST, MAX_MANIFEST_BYTES)
    if record is None or record.get("format") != MODEL_FORMAT:
        return None
    version, files = record.get("format_version"), record.get("files")
    if type(version) is not int or version < 1 or not isinstance(files, dict):
        return None
    if set(record) - {*MODEL_REQUIRED_KEYS, *MODEL_METADATA_KEYS} or set(MODEL_REQUIRED_KEYS) - set(record):
        return None
    try:
        if record[MANIFEST_DIGEST] != manifest_digest(record):
            return None
    except ValueError:  # NaN or infinity, which aefeatures never writes
        return None
    if set(files) != {MODEL_WEIGHTS, MODEL_SCHEMA}:
        return None
    return record if all(_has_sha256(directory / name, files[name]) for name in files) else None


def _has_sha256(path: Path, expected: object) -> bool:
    if not isinstance(expected, str) or path.is_symlink() or not path.is_file():
        return False
    digest = hashlib.sha256()
    with contextlib.suppress(OSError), path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
        return digest.hexdigest() == expected
    return False


def mlflow_model_data(directory: Path) -> Path:
    """The aefeatures model directory inside the MLflow export ``directory``: the one check of
    its ``MLmodel`` that every loader goes through (:func:`aefeatures.mlflow.load_model`,
    ``mlflow.pyfunc.load_model``, and the recognition of an export here).

    The ``aefeatures`` flavor's ``model_data`` and the ``python_function`` flavor's ``data``
    must name the same plain directory inside the export, and the loader module must be
    aefeatures' own; anything else (an absolute path, ``..``, a link, another loader) is refused
    with :class:`~aefeatures.errors.ModelFileError`.
    """
    where = f"the MLmodel file of {_quoted(directory)}"
    mlmodel = directory / MLMODEL
    if mlmodel.is_symlink() or not mlmodel.is_file():
        raise ModelFileError(
            f"{_quoted(directory)} is not an MLflow model: {MLMODEL} is missing or not a regular file.",
            hint="pass the directory written by aefeatures.mlflow.save_model (or a models:/ or runs:/ URI)",
        )
    if mlmodel.stat().st_size > MAX_MLMODEL_BYTES:
        raise ModelFileError(f"{where} is larger than {MAX_MLMODEL_BYTES >> 20} MiB.", hint=_MLFLOW_HINT)
    try:
        import yaml

        record = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
    except Exception as exc:  # not text, not YAML
        raise ModelFileError(
            f"{where} is not readable YAML: {type(exc).__name__}.", hint=_MLFLOW_HINT
        ) from exc
    flavors = record.get("flavors") if isinstance(record, dict) else None
    flavor = flavors.get(MLFLOW_FLAVOR) if isinstance(flavors, dict) else None
    if not isinstance(flavors, dict) or not isinstance(flavor, dict):
        raise ModelFileError(f"{where} has no {MLFLOW_FLAVOR!r} flavor.", hint=_MLFLOW_HINT)
    name = flavor.get("model_data", "model")
    pyfunc = flavors.get("python_function")
    if isinstance(pyfunc, dict):
        if pyfunc.get("loader_module") != MLFLOW_LOADER:
            raise ModelFileError(
                f"{where} names the loader {shorten(repr(pyfunc.get('loader_module')))}, "
                f"not {MLFLOW_LOADER!r}.",
                hint=_MLFLOW_HINT,
            )
        if pyfunc.get("data") != name:
            raise ModelFileError(
                f"{where} names {shorten(repr(pyfunc.get('data')))} as the python_function data but "
                f"{shorten(repr(name))} as the aefeatures model directory.",
                hint=_MLFLOW_HINT,
            )
    codes = [flavor.get("code"), *([pyfunc.get("code")] if isinstance(pyfunc, dict) else [])]
    if any(code not in (None, "code") for code in codes):
        shown = next(code for code in codes if code not in (None, "code"))
        raise ModelFileError(
            f"{where} names {shorten(repr(shown))} as the code directory; an aefeatures export has "
            "none, or 'code' inside it, and no code from outside the export is put on the import path.",
            hint=_MLFLOW_HINT,
        )
    plain = (
        isinstance(name, str) and name not in ("", ".", "..") and Path(name).name == name and "\\" not in name
    )
    if not plain or (directory / name).is_symlink():
        raise ModelFileError(
            f"{where} names {shorten(repr(name))} as the model directory, which is not a directory "
            "inside the MLflow model.",
            hint=_MLFLOW_HINT,
        )
    return directory / name


_MLFLOW_HINT = (
    "the MLmodel file was edited or damaged: export the model again with aefeatures.mlflow.save_model"
)


def _quoted(path: Path) -> str:
    return shorten(repr(str(path)))


def _format_of(manifest: Path) -> object:
    record = _json_record(manifest, MAX_MANIFEST_BYTES)
    return record.get("format") if record is not None else None


def _json_record(path: Path, limit: int) -> dict[str, Any] | None:
    """The JSON object in the regular file ``path`` (at most ``limit`` bytes), else ``None``."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > limit:
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def _only_regular_files(directory: Path, allowed: set[str]) -> bool:
    entries = list(directory.iterdir())
    return all(p.name in allowed and p.is_file() and not p.is_symlink() for p in entries)


def _is_model_dir(directory: Path) -> bool:
    if directory.is_symlink() or not directory.is_dir():
        return False
    allowed = {MODEL_MANIFEST, MODEL_WEIGHTS, MODEL_SCHEMA, MODEL_REPORT}
    if not _only_regular_files(directory, allowed) or written_model_manifest(directory) is None:
        return False
    report = directory / MODEL_REPORT
    return not report.exists() or _is_report(report)


def _is_checkpoint_dir(directory: Path) -> bool:
    """A checkpoint: ``state.json`` with exactly the keys aefeatures writes and the SHA-256 of
    ``state.safetensors``, and nothing else in the directory."""
    files = {_CHECKPOINT_STATE, _CHECKPOINT_TENSORS}
    if not _only_regular_files(directory, files) or {p.name for p in directory.iterdir()} != files:
        return False
    record = _json_record(directory / _CHECKPOINT_STATE, MAX_MANIFEST_BYTES)
    return (
        record is not None
        and set(record) == CHECKPOINT_KEYS
        and record["format"] == _CHECKPOINT_FORMAT
        and record["format_version"] == _CHECKPOINT_VERSION
        and _has_sha256(directory / _CHECKPOINT_TENSORS, record["tensors_sha256"])
    )


def _is_mlflow_dir(directory: Path) -> bool:
    """An MLflow export of an aefeatures model, holding only what such an export holds."""
    try:
        model = mlflow_model_data(directory)
    except ModelFileError:
        return False
    if not _is_model_dir(model):
        return False
    for entry in directory.iterdir():
        if entry.is_symlink():
            return False
        if entry.name in _MLFLOW_DIRECTORIES and entry.is_dir():
            if any(p.is_symlink() for p in entry.rglob("*")):
                return False
        elif not (entry == model or (entry.name in _MLFLOW_FILES and entry.is_file())):
            return False
    return True


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


_SCHEMA_DIGEST = "# aefeatures-sha256: "


def sealed_schema_text(header: str, body: str) -> str:
    """A schema file's text as ``aefeatures schema infer`` writes it: ``header`` (comment lines,
    the first naming aefeatures), a line with the SHA-256 of ``body``, then ``body``.

    The digest tells the file as written from one a person reviewed and edited (which
    ``--overwrite`` must keep).

    Examples
    --------
    >>> text = sealed_schema_text("# inferred by aefeatures\\n", "columns: {}\\n")
    >>> text.splitlines()[1].startswith("# aefeatures-sha256: ")
    True
    """
    return f"{header}{_SCHEMA_DIGEST}{hashlib.sha256(body.encode()).hexdigest()}\n{body}"


def _is_schema_file(path: Path, suffix: str) -> bool:
    """A schema file exactly as written: the signature, then the digest of the rest, unchanged."""
    if suffix not in (".yaml", ".yml") or path.stat().st_size > MAX_MANIFEST_BYTES:
        return False
    first_line = _head(path, 512).decode("utf-8", errors="replace").partition("\n")[0]
    if not (first_line.startswith("#") and _SCHEMA_SIGNATURE in first_line):
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    head, found, rest = text.partition("\n" + _SCHEMA_DIGEST)
    digest, _, body = rest.partition("\n")
    return (
        bool(found)
        and all(line.startswith("#") for line in head.splitlines())
        and (digest == hashlib.sha256(body.encode()).hexdigest())
    )


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
