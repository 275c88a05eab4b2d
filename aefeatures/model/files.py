"""The model directory: ``model.safetensors`` + ``aefeatures.json`` + ``schema.yaml``.

No pickle anywhere: weights are safetensors, everything else JSON or YAML. Loading checks
the format version, each file's SHA-256 and the manifest's own
checksum before reading anything, and never runs code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandera.polars as pa
from safetensors.torch import load_file, save_file

from aefeatures.config import FitConfig, NetConfig
from aefeatures.devices import resolve_device
from aefeatures.errors import ModelFileError
from aefeatures.features.preprocessor import Preprocessor
from aefeatures.io.sinks import atomic_path, file_sha256
from aefeatures.model.scoring import Calibration
from aefeatures.nn.network import Autoencoder
from aefeatures.report.html import REPORT, render_report
from aefeatures.schema.schemas import schema_from_yaml, schema_to_yaml

FORMAT = "aefeatures-model"
FORMAT_VERSION = 1
MANIFEST = "aefeatures.json"
WEIGHTS = "model.safetensors"
SCHEMA = "schema.yaml"
MANIFEST_DIGEST = "manifest_sha256"  # checksum of the manifest's other keys, so edits are caught


@dataclass(frozen=True)
class ModelParts:
    """What a model directory holds, read back into objects (an ``AutoencoderModel``'s fields)."""

    config: FitConfig
    net_config: NetConfig
    preprocessor: Preprocessor
    net: Autoencoder
    schema: pa.DataFrameSchema
    calibration: Calibration
    metadata: dict[str, Any]


def save_model(model: ModelParts, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the model directory atomically: it appears complete or not at all."""
    with atomic_path(path, overwrite) as temporary:
        temporary.mkdir()
        weights = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
        save_file(weights, str(temporary / WEIGHTS), metadata={"format": FORMAT})
        (temporary / SCHEMA).write_text(schema_to_yaml(model.schema))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": model.config.to_dict(),
            "net": model.net_config.to_dict(),
            "preprocessing": model.preprocessor.to_dict(),
            "calibration": {
                "threshold": model.calibration.threshold,
                "quantiles": list(model.calibration.quantiles),
            },
            **{key: value for key, value in model.metadata.items() if key not in ("created",)},
            "files": {name: file_sha256(temporary / name) for name in (WEIGHTS, SCHEMA)},
        }
        (temporary / MANIFEST).write_text(json.dumps(_sealed(manifest), indent=1, allow_nan=False))
        _write_report(temporary)
    return Path(path)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The checked manifest of a model directory (format, version, file checksums)."""
    directory = Path(path)
    if not (directory / MANIFEST).is_file():
        raise ModelFileError(
            f"{str(directory)!r} is not a model directory: {MANIFEST} is missing.",
            hint="pass the directory written by 'aefeatures fit' (--model DIR)",
        )
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(
            f"{MANIFEST} in {str(directory)!r} is not valid JSON: {exc}", hint="re-fit the model"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{MANIFEST} in {str(directory)!r} is not an aefeatures manifest.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ModelFileError(
            f"model format version {version!r} in {str(directory)!r} is not supported (this aefeatures reads 1 to {FORMAT_VERSION}).",
            hint="upgrade aefeatures, or re-fit the model with this version",
        )
    _check_files(directory, manifest.get("files"))
    if manifest.get(MANIFEST_DIGEST) != _manifest_digest(manifest):
        raise ModelFileError(
            f"{MANIFEST} in {str(directory)!r} does not match its checksum: it was edited after the model was written.",
            hint="restore the model directory from its original copy, or re-fit",
        )
    return manifest


def read_model(path: str | Path, *, device: str = "auto") -> ModelParts:
    """Rebuild a model's parts from its directory alone (checked by :func:`read_manifest`)."""
    directory = Path(path)
    manifest = read_manifest(directory)
    try:
        config = FitConfig.from_dict(manifest["config"])
        net_config = NetConfig.from_dict(manifest["net"])
        preprocessor = Preprocessor.from_dict(manifest["preprocessing"])
        calibration = Calibration(
            threshold=float(manifest["calibration"]["threshold"]),
            quantiles=tuple(float(q) for q in manifest["calibration"]["quantiles"]),
        )
        net = Autoencoder(net_config)
        net.load_state_dict(load_file(str(directory / WEIGHTS), device="cpu"), strict=True)
        schema = schema_from_yaml((directory / SCHEMA).read_text())
    except ModelFileError:
        raise
    except Exception as exc:  # any inconsistency means the directory was edited or broken
        raise ModelFileError(
            f"the model in {str(directory)!r} is inconsistent: {type(exc).__name__}: {exc}",
            hint="the files do not match each other; re-fit the model",
        ) from exc
    metadata: dict[str, Any] = {
        k: manifest[k]
        for k in ("history", "fingerprint", "versions", "created", "drift", "report")
        if k in manifest
    }
    return ModelParts(
        config=config,
        net_config=net_config,
        preprocessor=preprocessor,
        net=net.to(resolve_device(device)),
        schema=schema,
        calibration=calibration,
        metadata=metadata,
    )


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


def _write_report(directory: Path) -> None:
    # Derived from the manifest, so it is not checksummed; 'aefeatures report DIR' rewrites it.
    page = render_report(json.loads((directory / MANIFEST).read_text()), (directory / SCHEMA).read_text())
    (directory / REPORT).write_text(page, encoding="utf-8")


def write_report(model_dir: str | Path, output: str | Path | None = None, *, overwrite: bool = False) -> Path:
    """Write (or refresh) the report of a model directory; returns the file written.

    The directory's manifest and checksums are checked first. Without ``output`` the report
    goes to ``<model_dir>/report.html``, which is always replaced (it is derived data).

    Examples
    --------
    >>> write_report("no/such/model")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    aefeatures.errors.ModelFileError: 'no/such/model' is not a model directory
    """
    directory = Path(model_dir)
    page = render_report(read_manifest(directory), (directory / SCHEMA).read_text())
    target = Path(output) if output is not None else directory / REPORT
    with atomic_path(target, overwrite or output is None, kind="report", inputs=[directory]) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return target


def _sealed(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as JSON will read it back, with the checksum of its own content added."""
    plain = json.loads(json.dumps(manifest, allow_nan=False))
    return {**plain, MANIFEST_DIGEST: _manifest_digest(plain)}


def _manifest_digest(manifest: dict[str, Any]) -> str:
    content = {key: value for key, value in manifest.items() if key != MANIFEST_DIGEST}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()
