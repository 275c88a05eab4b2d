"""The manifest ``aefeatures.json``: its format, its checksums, and reading it back checked.

Loading reads the format version, each file's SHA-256 and the manifest's own checksum, then every
field (:mod:`aefeatures.model.manifest_fields`), before anything is built. A manifest is plain
data: NaN, infinity, nesting deeper than :data:`MAX_DEPTH` and unknown fields are refused, each
error naming the field (``net.n_inputs``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aefeatures.errors import ModelFileError
from aefeatures.io.artifacts import (
    MANIFEST_DIGEST,
    MAX_MANIFEST_BYTES,
    MODEL_FORMAT,
    MODEL_MANIFEST,
    MODEL_METADATA_KEYS,
    MODEL_SCHEMA,
    MODEL_WEIGHTS,
    manifest_digest,
)
from aefeatures.io.sinks import file_sha256
from aefeatures.model.manifest_fields import ParsedManifest, damaged, parse_manifest

FORMAT = MODEL_FORMAT
FORMAT_VERSION = 1
MANIFEST = MODEL_MANIFEST
WEIGHTS = MODEL_WEIGHTS
SCHEMA = MODEL_SCHEMA


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The checked manifest of a model directory: format, version, checksums, and every field.

    The whole manifest is validated (:func:`~aefeatures.model.manifest_fields.parse_manifest`)
    before anything else reads it, so a damaged or hand-made one fails here with a
    :class:`ModelFileError` naming the field, never later with a bare ``KeyError`` or a 7 TB
    allocation.
    """
    return read_checked(Path(path))[0]


MAX_DEPTH = 32  # aefeatures writes at most 8 levels of nesting (segments.values.V.drift.columns.C.counts[i])
METADATA_KEYS = MODEL_METADATA_KEYS
"""The manifest's keys besides the model itself: the training summary, kept as ``model.metadata``."""


def read_checked(directory: Path) -> tuple[dict[str, Any], ParsedManifest]:
    path = directory / MANIFEST
    if not os.path.lexists(directory):
        raise ModelFileError(
            f"{str(directory)!r} is not a model directory: it does not exist.",
            hint="pass the directory written by 'aefeatures fit' (--model DIR); 'aefeatures fit DATA "
            "--model DIR' writes one",
        )
    if not path.is_file():
        raise ModelFileError(
            f"{str(directory)!r} is not a model directory: {MANIFEST} is missing"
            + (" (it is not a regular file)." if os.path.lexists(path) else "."),
            hint="pass the directory written by 'aefeatures fit' (--model DIR)",
        )
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise damaged(directory, f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES >> 20} MiB")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ModelFileError(
            f"{MANIFEST} in {str(directory)!r} is not valid JSON: {what}", hint="re-fit the model"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(
            f"{MANIFEST} in {str(directory)!r} is not an aefeatures manifest.",
            hint="pass the directory written by 'aefeatures fit' (--model DIR), or re-fit the model",
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION or version < 1:
        raise ModelFileError(
            f"model format version {version!r} in {str(directory)!r} is not supported (this aefeatures reads 1 to {FORMAT_VERSION}).",
            hint="upgrade aefeatures, or re-fit the model with this version",
        )
    _check_depth(directory, manifest)
    _check_files(directory, manifest.get("files"))
    if manifest.get(MANIFEST_DIGEST) != manifest_digest(manifest):
        raise ModelFileError(
            f"{MANIFEST} in {str(directory)!r} does not match its checksum: it was edited after the model was written.",
            hint="restore the model directory from its original copy, or re-fit",
        )
    return manifest, parse_manifest(directory, manifest)


def _check_depth(directory: Path, manifest: dict[str, Any]) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` (aefeatures writes 8 levels), without recursion."""
    stack: list[tuple[object, str, int]] = [(manifest, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            shown = where if len(where) <= 60 else where[:57] + "..."
            raise damaged(directory, f"{MANIFEST} is nested more than {MAX_DEPTH} levels deep, at {shown!r}")
        if isinstance(value, dict):
            stack += [(v, f"{where}.{k}" if where else str(k), depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]


def _refuse_constant(name: str) -> float:
    raise ValueError(f"it holds {name}, which aefeatures never writes (JSON has no NaN or infinity)")


def _check_files(directory: Path, files: object) -> None:
    if not isinstance(files, dict) or set(files) != {WEIGHTS, SCHEMA}:
        raise ModelFileError(
            f"{MANIFEST} in {str(directory)!r} lists unexpected files: {files!r}.", hint="re-fit the model"
        )
    for name, expected in files.items():
        # Only the fixed plain names above are accepted, so nothing can point outside the directory.
        path = directory / name
        if not path.is_file():
            raise ModelFileError(
                f"{name} is missing from {str(directory)!r}.",
                hint="copy the whole model directory, or re-fit",
            )
        if file_sha256(path) != expected:
            raise ModelFileError(
                f"{name} in {str(directory)!r} does not match its checksum: the file was changed or damaged.",
                hint="restore the model directory from its original copy, or re-fit",
            )


def sealed(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as JSON will read it back, with the checksum of its own content added."""
    plain = json.loads(json.dumps(manifest, allow_nan=False))
    return {**plain, MANIFEST_DIGEST: manifest_digest(plain)}
