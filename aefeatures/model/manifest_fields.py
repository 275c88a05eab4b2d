"""The check of every field of the manifest ``aefeatures.json``, and the model's parts built from it.

Types, ranges, and that the parts fit together (the preprocessing's width is the network's input
width), before anything is built; each error names the field (``net.n_inputs``).
:mod:`aefeatures.model.manifest` reads the file and checks its checksums first.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aefeatures.config import MAX_LAYER_WIDTH, MAX_PARAMETERS, FitConfig, NetConfig, check_network_size
from aefeatures.errors import ConfigError, ModelFileError
from aefeatures.features import types as column_types
from aefeatures.features.preprocessor import MIN_BASELINE, Preprocessor
from aefeatures.features.types.dtypes import parse_dtype
from aefeatures.io.artifacts import MODEL_MANIFEST as MANIFEST
from aefeatures.io.artifacts import MODEL_METADATA_KEYS, MODEL_REQUIRED_KEYS
from aefeatures.model.scoring import Calibration

T = TypeVar("T")


@dataclass(frozen=True)
class ParsedManifest:
    """The model's parts, built from a checked manifest (no torch yet)."""

    config: FitConfig
    net_config: NetConfig
    preprocessor: Preprocessor
    calibration: Calibration


def parse_manifest(directory: Path, manifest: dict[str, Any]) -> ParsedManifest:
    """Every field of the manifest checked, and the model's parts built from it (no torch yet)."""
    missing = [key for key in MODEL_REQUIRED_KEYS if key not in manifest]
    unknown = sorted(set(manifest) - {*MODEL_REQUIRED_KEYS, *MODEL_METADATA_KEYS})
    if missing or unknown:
        what = f"lacks the field {missing[0]!r}" if missing else f"has the unknown field {unknown[0]!r}"
        raise damaged(
            directory,
            f"{MANIFEST} {what}",
            hint=_FIELD_HINT + (" (or upgrade aefeatures)" if unknown else ""),
        )
    field = _Fields(directory)
    config = field.build(
        "config", lambda: FitConfig.from_dict(field.mapping("config", manifest["config"])).validate()
    )
    net = field.net(manifest["net"], config)
    preprocessor = field.preprocessing(manifest["preprocessing"])
    if preprocessor.n_inputs != net.n_inputs:
        raise field.error(
            "net.n_inputs", net.n_inputs, f"the preprocessing encodes {preprocessor.n_inputs} inputs"
        )
    if len(preprocessor.baselines) != len(preprocessor.terms):
        raise field.error(
            "preprocessing.baselines",
            f"{len(preprocessor.baselines)} values",
            f"there is one per loss term, and the columns have {len(preprocessor.terms)}",
        )
    calibration = field.calibration(manifest["calibration"])
    field.metadata(manifest)
    segments = manifest.get("segments") or {}
    for name, column in (
        ("config.segment_by", config.segment_by),
        ("segments.column", segments.get("column")),
    ):
        if column is not None and column not in preprocessor.columns:
            raise field.error(name, column, "expected one of the feature columns (the model reads it)")
    if "generation" in manifest:
        field.generation(manifest["generation"], net.n_inputs, net.latent_dim)
    return ParsedManifest(config=config, net_config=net, preprocessor=preprocessor, calibration=calibration)


_FIELD_HINT = (
    "the manifest was edited or damaged: restore the model directory from its original copy, or re-fit"
)


def damaged(directory: Path, problem: str, *, hint: str = _FIELD_HINT) -> ModelFileError:
    return ModelFileError(
        f"the model in {str(directory)!r} is damaged or inconsistent: {problem}.", hint=hint
    )


@dataclass(frozen=True)
class _Fields:
    """Checks of the manifest's fields; each error names the field (``net.n_inputs``)."""

    directory: Path

    def error(self, name: str, value: object, problem: str) -> ModelFileError:
        shown = value if isinstance(value, str) and value.endswith("values") else repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return damaged(self.directory, f"{MANIFEST} field {name!r} is {shown}: {problem}")

    def build(self, name: str, make: Callable[[], T]) -> T:
        try:
            return make()
        except ModelFileError:
            raise
        except (ConfigError, TypeError, ValueError, KeyError, AttributeError) as exc:
            text = str(exc.args[0]) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
            raise damaged(
                self.directory, f"{MANIFEST} field {name!r} is invalid: {text.rstrip('.')}"
            ) from exc

    def mapping(self, name: str, value: object) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(name, value, "expected a JSON object")
        return value

    def items(self, name: str, value: object) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(name, value, "expected a JSON list")
        return value

    def integer(self, name: str, value: object, low: int, high: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.error(name, value, f"expected a whole number from {low} to {high:,}")
        return value

    def number(self, name: str, value: object, low: float = -math.inf) -> float:
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < low
        ):
            raise self.error(
                name, value, "expected a finite number" + (f" of at least {low}" if low > -math.inf else "")
            )
        return float(value)

    def text(self, name: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.error(name, value, "expected a string")
        return value

    def net(self, value: object, config: FitConfig) -> NetConfig:
        net = self.mapping("net", value)
        known = {f.name for f in dataclasses.fields(NetConfig)}
        lacking = [key for key in ("kind", "n_inputs", "latent_dim", "hidden") if key not in net]
        unknown = sorted(set(net) - known)
        if lacking or unknown:
            problem = f"lacks {lacking[0]!r}" if lacking else f"has the unknown key {unknown[0]!r}"
            raise self.error("net", sorted(net), problem)
        kind = self.text("net.kind", net["kind"])
        if kind != config.kind:
            raise self.error("net.kind", kind, f"the configuration's kind is {config.kind!r}")
        n_inputs = self.integer("net.n_inputs", net["n_inputs"], 1, MAX_PARAMETERS)
        latent = self.integer("net.latent_dim", net["latent_dim"], 1, 4096)
        hidden = tuple(
            self.integer(f"net.hidden[{i}]", w, 1, MAX_LAYER_WIDTH)
            for i, w in enumerate(self.items("net.hidden", net["hidden"]))
        )
        clip = (
            None if net.get("input_clip") is None else self.number("net.input_clip", net["input_clip"], 0.0)
        )
        if config.latent_dim is not None and latent != config.latent_dim:
            raise self.error(
                "net.latent_dim", latent, f"the configuration's latent_dim is {config.latent_dim}"
            )
        if config.hidden is not None and hidden != config.hidden:
            raise self.error(
                "net.hidden", list(hidden), f"the configuration's hidden is {list(config.hidden)}"
            )
        self.build("net", lambda: check_network_size(n_inputs, hidden, latent))
        linear = net.get("linear_path", False)
        if not isinstance(linear, bool):
            raise self.error("net.linear_path", linear, "expected true or false")
        gaussian = net.get("gaussian_inputs", 0)
        if isinstance(gaussian, bool) or not isinstance(gaussian, int) or not 0 <= gaussian <= n_inputs:
            raise self.error("net.gaussian_inputs", gaussian, f"expected a whole number from 0 to {n_inputs}")
        return NetConfig(
            kind=kind,
            n_inputs=n_inputs,
            latent_dim=latent,
            hidden=hidden,
            input_clip=clip,
            linear_path=linear,
            gaussian_inputs=gaussian,
        )

    def preprocessing(self, value: object) -> Preprocessor:
        data = self.mapping("preprocessing", value)
        columns = self.items("preprocessing.columns", data.get("columns"))
        if not columns:
            raise self.error("preprocessing.columns", columns, "a model reads at least one column")
        names: set[str] = set()
        for i, column in enumerate(columns):
            where = f"preprocessing.columns[{i}]"
            spec = self.mapping(where, column)
            name = self.text(f"{where}.name", spec.get("name"))
            if not name or name in names:
                raise self.error(f"{where}.name", name, "expected a non-empty name used once")
            names.add(name)
            if spec.get("kind") not in column_types.TYPES:
                raise self.error(
                    f"{where}.kind", spec.get("kind"), f"expected one of {', '.join(column_types.TYPES)}"
                )
            self.dtype(f"{where}.dtype", name, spec.get("dtype"), column_types.get(spec["kind"]))
            if not isinstance(spec.get("has_missing"), bool):
                raise self.error(f"{where}.has_missing", spec.get("has_missing"), "expected true or false")
            self.spec_fields(where, column_types.get(spec["kind"]), spec)
        for i, baseline in enumerate(self.items("preprocessing.baselines", data.get("baselines"))):
            self.number(f"preprocessing.baselines[{i}]", baseline, MIN_BASELINE)
        return self.build("preprocessing", lambda: Preprocessor.from_dict(data))

    def dtype(self, name: str, column: str, value: object, kind: type[column_types.ColumnSpec]) -> None:
        """Column ``column``'s dtype: one :func:`parse_dtype` reads (time zone included) and its
        type takes."""
        text = self.text(name, value)
        try:
            dtype = parse_dtype(text)
        except ValueError as exc:
            raise self.error(name, text, f"column {column!r} {str(exc).removeprefix(f'{text!r} ')}") from None
        if not kind.accepts(dtype):
            raise self.error(name, text, f"column {column!r} is {kind.kind}, of a {kind.takes} dtype")

    def spec_fields(self, where: str, kind: type[column_types.ColumnSpec], spec: dict[str, Any]) -> None:
        """The fields a column's type learns, checked by their declared types (and ``positive``,
        ``low``, ``high`` metadata); the common fields are checked by the caller."""
        hints = _type_hints(kind)
        common = {field.name for field in dataclasses.fields(column_types.ColumnSpec)}
        for field in dataclasses.fields(kind):
            if field.name in spec and field.name not in common:
                self.typed(f"{where}.{field.name}", spec[field.name], hints[field.name], field.metadata)

    def typed(self, name: str, value: object, hint: object, metadata: Mapping[str, Any]) -> None:
        """``value`` checked against the type ``hint`` (numbers, text, booleans, tuples, optionals)."""
        args = typing.get_args(hint)
        if type(None) in args:
            if value is not None:
                self.typed(name, value, next(a for a in args if a is not type(None)), metadata)
        elif typing.get_origin(hint) is tuple:
            items = self.items(name, value)
            for j, item in enumerate(items):
                self.typed(f"{name}[{j}]", item, args[0], metadata)
            twice = [item for item, n in Counter(items).items() if n > 1] if metadata.get("distinct") else []
            if twice:
                raise self.error(
                    name, f"{len(items)} values", f"expected each once, and {twice[0]!r} is there twice"
                )
        elif hint is float:
            self.number(name, value, metadata.get("low", -math.inf))
        elif hint is int:
            self.integer(name, value, metadata.get("low", -(2**63)), metadata.get("high", 2**63 - 1))
        elif hint is str:
            self.text(name, value)
        elif hint is bool and not isinstance(value, bool):
            raise self.error(name, value, "expected true or false")

    def calibration(self, value: object, where: str = "calibration") -> Calibration:
        data = self.mapping(where, value)
        threshold = self.number(f"{where}.threshold", data.get("threshold"), 0.0)
        quantiles = [
            self.number(f"{where}.quantiles[{i}]", q)
            for i, q in enumerate(self.items(f"{where}.quantiles", data.get("quantiles")))
        ]
        if not quantiles or any(b < a for a, b in zip(quantiles, quantiles[1:], strict=False)):
            raise self.error(
                f"{where}.quantiles", f"{len(quantiles)} values", "expected a non-empty rising list"
            )
        return Calibration(threshold=threshold, quantiles=tuple(quantiles))

    def metadata(self, manifest: dict[str, Any]) -> None:
        """The training summary: the types that ``info``, ``report`` and the drift check read."""
        if "created" in manifest:
            self.text("created", manifest["created"])
        for key in ("history", "fingerprint", "versions", "drift", "report"):
            if key in manifest:
                self.mapping(key, manifest[key])
        history = manifest.get("history", {})
        for i, epoch in enumerate(self.items("history.epochs", history.get("epochs", []))):
            for name, number in self.mapping(f"history.epochs[{i}]", epoch).items():
                self.number(f"history.epochs[{i}].{name}", number)
        if history.get("best_epoch") is not None:
            self.integer("history.best_epoch", history["best_epoch"], 0, 10**9)
        if history.get("start_loss") is not None:
            self.number("history.start_loss", history["start_loss"])
        rows = manifest.get("fingerprint", {}).get("rows")
        if rows is not None:
            self.integer("fingerprint.rows", rows, 0, 2**63 - 1)
        validation = manifest.get("report", {}).get("validation")
        if validation is not None:  # info and the report print these (absent before they were stored)
            validation = self.mapping("report.validation", validation)
            self.integer("report.validation.rows", validation.get("rows"), 0, 2**63 - 1)
            if validation.get("mean_ae_error") is not None:
                self.number("report.validation.mean_ae_error", validation["mean_ae_error"], 0.0)
        for name, version in manifest.get("versions", {}).items():
            self.text(f"versions.{name}", version)
        self.drift(manifest.get("drift", {}))
        if manifest.get("segments") is not None:
            self.segments(manifest["segments"])

    def segments(self, value: object) -> None:
        """Per-segment calibrations and drift statistics (``fit --segment-by``)."""
        data = self.mapping("segments", value)
        self.text("segments.column", data.get("column"))
        for name, segment in self.mapping("segments.values", data.get("values")).items():
            where = f"segments.values.{name}"
            stats = self.mapping(where, segment)
            self.integer(f"{where}.rows", stats.get("rows"), 1, 2**63 - 1)
            self.calibration(stats, where)
            self.drift(self.mapping(f"{where}.drift", stats.get("drift")), f"{where}.drift")
        for i, name in enumerate(self.items("segments.small", data.get("small", []))):
            self.text(f"segments.small[{i}]", name)

    def drift(self, drift: dict[str, Any], where: str = "drift") -> None:
        """Drift statistics: numbers, or lists of numbers (quantile edges, counts); older models
        have only numbers, and none of ``rows`` and ``errors``."""
        if drift.get("rows") is not None:
            self.integer(f"{where}.rows", drift["rows"], 0, 2**63 - 1)
        columns = self.mapping(f"{where}.columns", drift.get("columns", {}))
        sections = {f"{where}.columns.{name}": stats for name, stats in columns.items()}
        if drift.get("errors") is not None:
            sections[f"{where}.errors"] = drift["errors"]
        for where, stats in sections.items():
            for key, value in self.mapping(where, stats).items():
                if isinstance(value, list):
                    for i, number in enumerate(value):
                        self.number(f"{where}.{key}[{i}]", number, 0.0 if key == "counts" else -math.inf)
                elif value is not None or key not in ("low", "high"):
                    self.number(f"{where}.{key}", value)

    def generation(self, value: object, n_inputs: int, latent_dim: int) -> None:
        """What sampling reads (:mod:`aefeatures.model.generation`): a noise level per input and
        a code mixture whose every part has the bottleneck's width."""
        data = self.mapping("generation", value)
        noise = self.items("generation.noise", data.get("noise"))
        if len(noise) != n_inputs:
            raise self.error(
                "generation.noise", f"{len(noise)} values", f"there is one per input ({n_inputs})"
            )
        for i, number in enumerate(noise):
            self.number(f"generation.noise[{i}]", number, 0.0)
        if data.get("shift"):
            self.numbers("generation.shift", data["shift"], n_inputs)
        if data.get("density") is None:
            return
        density = self.mapping("generation.density", data["density"])
        weights = self.items("generation.density.weights", density.get("weights"))
        means = self.items("generation.density.means", density.get("means"))
        factors = self.items("generation.density.factors", density.get("factors"))
        if not weights or not len(weights) == len(means) == len(factors):
            raise self.error(
                "generation.density", f"{len(weights)} weights", "expected as many means and factors"
            )
        total = sum(self.number(f"generation.density.weights[{c}]", w, 0.0) for c, w in enumerate(weights))
        if not 0.0 < total < math.inf:  # sampling divides by it
            raise self.error("generation.density.weights", weights, "expected a positive, finite total")
        for c in range(len(weights)):
            self.numbers(f"generation.density.means[{c}]", means[c], latent_dim)
            rows = self.items(f"generation.density.factors[{c}]", factors[c])
            if len(rows) != latent_dim:
                raise self.error(
                    f"generation.density.factors[{c}]", f"{len(rows)} rows", f"expected {latent_dim}"
                )
            for r, row in enumerate(rows):
                self.numbers(f"generation.density.factors[{c}][{r}]", row, latent_dim)

    def numbers(self, name: str, value: object, length: int) -> None:
        """A list of ``length`` finite numbers."""
        items = self.items(name, value)
        if len(items) != length:
            raise self.error(name, f"{len(items)} values", f"expected {length}")
        for i, number in enumerate(items):
            self.number(f"{name}[{i}]", number)


@functools.cache
def _type_hints(kind: type) -> dict[str, Any]:
    """A column type's field types, worked out once per type, not once per column."""
    return typing.get_type_hints(kind)
