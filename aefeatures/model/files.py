"""The model directory: ``model.safetensors`` + ``aefeatures.json`` + ``schema.yaml``.

No pickle anywhere: weights are safetensors, everything else JSON or YAML. Loading checks the
manifest first (:mod:`aefeatures.model.manifest`: format, checksums, every field), then that the
weights are the network's shapes and finite, before building anything, and never runs code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandera.polars as pa
import torch
from safetensors.torch import load_file, save

from aefeatures.config import FitConfig, NetConfig
from aefeatures.devices import resolve_device
from aefeatures.errors import DataError, ModelFileError, shorten
from aefeatures.features.preprocessor import Preprocessor
from aefeatures.features.types import ColumnSpec
from aefeatures.features.types.dtypes import parse_dtype
from aefeatures.io.sinks import atomic_path, file_sha256
from aefeatures.model.manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    METADATA_KEYS,
    SCHEMA,
    WEIGHTS,
    damaged,
    read_checked,
    read_manifest,
    sealed,
)
from aefeatures.model.scoring import Calibration
from aefeatures.nn.network import Autoencoder
from aefeatures.report.html import REPORT, render_report
from aefeatures.schema.schemas import MAX_SCHEMA_BYTES, schema_dtype, schema_from_yaml, schema_to_yaml


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
    unknown = sorted(set(model.metadata) - set(METADATA_KEYS))
    if unknown:  # a bug: read_model would refuse the manifest
        raise ValueError(f"model metadata key {unknown[0]!r} is not one of METADATA_KEYS in model/files.py")
    with atomic_path(path, overwrite, kind="model") as temporary:
        temporary.mkdir()
        weights = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
        # Through open(), unlike safetensors' save_file (0600), so the umask sets the mode as for the rest.
        (temporary / WEIGHTS).write_bytes(save(weights, metadata={"format": FORMAT}))
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
        (temporary / MANIFEST).write_text(json.dumps(sealed(manifest), indent=1, allow_nan=False))
        _write_report(temporary)
        _require_loadable(temporary, path)
    return Path(path)


def _require_loadable(directory: Path, target: str | Path) -> None:
    """Check the written directory against the loader's limits (:func:`read_checked`: the
    manifest's size, nesting and fields; the schema's size), so a model that goes past one is
    refused here, before it is published, rather than written and never loaded."""
    try:
        read_checked(directory)
        if (directory / SCHEMA).stat().st_size > MAX_SCHEMA_BYTES:
            raise damaged(directory, f"{SCHEMA} is larger than {MAX_SCHEMA_BYTES >> 20} MiB")
    except ModelFileError as exc:
        problem = str(exc.args[0]).split(" is damaged or inconsistent: ", 1)[-1]
        raise DataError(
            f"the model for {shorten(repr(str(target)))} cannot be written: it would not load back: "
            f"{problem.rstrip('.')}. Nothing was written.",
            hint="fit fewer columns (--columns, --exclude) or keep fewer categorical levels "
            "(--set max_levels=N)",
        ) from exc


def read_model(path: str | Path, *, device: str = "auto") -> ModelParts:
    """Rebuild a model's parts from its directory alone (checked by :func:`read_manifest`)."""
    directory = Path(path)
    manifest, parsed = read_checked(directory)
    net = Autoencoder(parsed.net_config)  # its size was bounded by the checks
    try:
        weights = load_file(str(directory / WEIGHTS), device="cpu")
    except Exception as exc:  # not a safetensors file, a header out of bounds
        raise damaged(directory, f"{WEIGHTS} cannot be read as safetensors: {exc}") from exc
    bad = next((name for name, tensor in weights.items() if not bool(torch.isfinite(tensor).all())), None)
    if bad is not None:
        raise damaged(directory, f"{WEIGHTS} holds NaN or infinite weights in {bad!r}")
    try:
        net.load_state_dict(weights, strict=True)
    except RuntimeError as exc:  # missing, extra or mis-shaped tensors
        first = str(exc).strip().splitlines()
        raise damaged(
            directory,
            f"{WEIGHTS} does not match the network the manifest's 'net' describes: {' '.join(first[:3])}",
        ) from exc
    schema_path = directory / SCHEMA
    if schema_path.stat().st_size > MAX_SCHEMA_BYTES:
        raise damaged(directory, f"{SCHEMA} is larger than {MAX_SCHEMA_BYTES >> 20} MiB")
    try:
        schema = schema_from_yaml(schema_path.read_text(encoding="utf-8"))
    except Exception as exc:  # not YAML, not a pandera schema
        raise damaged(
            directory, f"{SCHEMA} is not a readable pandera schema: {type(exc).__name__}: {shorten(str(exc))}"
        ) from exc
    unchecked = [name for name in parsed.preprocessor.columns if name not in schema.columns]
    if unchecked:
        raise damaged(directory, f"{SCHEMA} lacks the feature column {unchecked[0]!r} that the model reads")
    _check_schema_dtypes(directory, parsed.preprocessor.specs, schema)
    metadata: dict[str, Any] = {k: manifest[k] for k in METADATA_KEYS if k in manifest}
    return ModelParts(
        config=parsed.config,
        net_config=parsed.net_config,
        preprocessor=parsed.preprocessor,
        net=net.to(resolve_device(device)),
        schema=schema,
        calibration=parsed.calibration,
        metadata=metadata,
    )


def _check_schema_dtypes(directory: Path, specs: Sequence[ColumnSpec], schema: pa.DataFrameSchema) -> None:
    """Each feature's training dtype is the one its schema column declares (as :func:`schema_dtype`
    writes it), so the outputs come in the dtype the data is validated to."""
    for i, spec in enumerate(specs):
        declared = schema.columns[spec.name].dtype
        trained = parse_dtype(spec.dtype)  # checked with the manifest
        if declared is not None and declared.type not in (trained, schema_dtype(trained)):
            raise damaged(
                directory,
                f"{MANIFEST} field 'preprocessing.columns[{i}].dtype' is {spec.dtype!r}, "
                f"but {SCHEMA} declares {declared} for column {spec.name!r}",
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
    own = output is None  # the model's own report, derived data inside it; elsewhere the model is an input
    with atomic_path(target, overwrite or own, kind="report", inputs=[] if own else [directory]) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return target
