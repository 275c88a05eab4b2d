"""Hostile model directories: the whole manifest is validated at load, and each problem is a
:class:`ModelFileError` naming the field (or file), never a bare ``KeyError`` or a huge allocation.

Most cases are *resealed* after the edit (file checksums and the manifest's own checksum
recomputed), as someone crafting a directory would do: the checksums alone do not catch them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.errors import ModelFileError
from aefeatures.io.sinks import file_sha256
from aefeatures.model.manifest import MANIFEST, MANIFEST_DIGEST, SCHEMA, WEIGHTS, read_manifest
from tests.helpers import make_mixed

Edit = Callable[[Path, dict[str, Any]], None]


def manifest_of(directory: Path) -> dict[str, Any]:
    return json.loads((directory / MANIFEST).read_text())


def reseal(directory: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` with the files' and its own checksums recomputed (NaN kept as written)."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}
    body["files"] = {name: file_sha256(directory / name) for name in (WEIGHTS, SCHEMA)}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    sealed = {**body, MANIFEST_DIGEST: hashlib.sha256(text.encode()).hexdigest()}
    (directory / MANIFEST).write_text(json.dumps(sealed))


def edit(change: Callable[[dict[str, Any]], None]) -> Edit:
    def apply(directory: Path, manifest: dict[str, Any]) -> None:
        change(manifest)
        reseal(directory, manifest)

    return apply


def set_key(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """``set_key("net.n_inputs", 7)``: one value deep in the manifest replaced."""

    def change(manifest: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = manifest
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value

    return change


def nested(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


def deep_text(directory: Path, manifest: dict[str, Any]) -> None:
    (directory / MANIFEST).write_text(
        '{"format": "aefeatures-model", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    )


def nan_weights(directory: Path, manifest: dict[str, Any]) -> None:
    tensors = load_file(str(directory / WEIGHTS))
    name = sorted(tensors)[0]
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, str(directory / WEIGHTS))
    reseal(directory, manifest)


def truncated_weights(directory: Path, manifest: dict[str, Any]) -> None:
    (directory / WEIGHTS).write_bytes((directory / WEIGHTS).read_bytes()[:-64])
    reseal(directory, manifest)


def schema_without(column: str) -> Edit:
    def apply(directory: Path, manifest: dict[str, Any]) -> None:
        schema = yaml.safe_load((directory / SCHEMA).read_text())
        del schema["columns"][column]
        (directory / SCHEMA).write_text(yaml.safe_dump(schema))
        reseal(directory, manifest)

    return apply


def drop_last_column(manifest: dict[str, Any]) -> None:
    manifest["preprocessing"]["columns"].pop()


CASES: list[tuple[str, Edit, str]] = [
    ("nan-threshold", edit(set_key("calibration.threshold", float("nan"))), "it holds NaN"),
    ("infinite-center", edit(set_key("preprocessing.columns.0.center", float("inf"))), "it holds Infinity"),
    ("deeply-nested-text", deep_text, "nested too deeply"),
    ("deeply-nested", edit(set_key("history.deep", nested(100))), "nested more than 32 levels deep"),
    (
        "width-mismatch",
        edit(lambda m: m["net"].update(n_inputs=m["net"]["n_inputs"] + 1)),
        "the preprocessing encodes",
    ),
    ("column-dropped", edit(drop_last_column), "field 'net.n_inputs'"),
    ("huge-network", edit(set_key("net.n_inputs", 10**9)), "field 'net.n_inputs' is 1000000000"),
    ("wide-hidden", edit(set_key("net.hidden", [10**6])), "field 'net.hidden[0]'"),
    ("kind-mismatch", edit(set_key("net.kind", "pca")), "field 'net.kind' is 'pca'"),
    ("net-extra-key", edit(set_key("net.extra", 1)), "has the unknown key 'extra'"),
    ("linear-path-text", edit(set_key("net.linear_path", "yes")), "field 'net.linear_path' is 'yes'"),
    ("config-text", edit(set_key("config.trim", "abc")), "field 'config' is invalid: trim='abc' is a string"),
    ("config-unknown", edit(set_key("config.surprise", 1)), "unknown configuration keys: surprise"),
    ("extra-top-level-key", edit(set_key("surprise", 1)), "unknown field 'surprise'"),
    ("missing-calibration", edit(lambda m: m.pop("calibration")), "lacks the field 'calibration'"),
    ("quantiles-text", edit(set_key("calibration.quantiles", "lots")), "field 'calibration.quantiles'"),
    ("quantiles-falling", edit(set_key("calibration.quantiles", [3.0, 1.0])), "rising"),
    ("negative-scale", edit(set_key("preprocessing.columns.0.scale", -1.0)), "columns[0].scale"),
    ("unknown-column-kind", edit(set_key("preprocessing.columns.0.kind", "quantum")), "columns[0].kind"),
    ("duplicate-column", edit(set_key("preprocessing.columns.1.name", "x")), "columns[1].name"),
    ("baselines-short", edit(lambda m: m["preprocessing"]["baselines"].pop()), "one per loss term"),
    (
        "baseline-below-the-floor",
        edit(set_key("preprocessing.baselines.0", 1e-4)),
        "'preprocessing.baselines[0]'",
    ),
    ("segment-not-a-feature", edit(set_key("config.segment_by", "label")), "'config.segment_by' is 'label'"),
    (
        "segments-not-a-feature",
        edit(set_key("segments", {"column": "id", "values": {}})),
        "'segments.column'",
    ),
    (
        "rare-levels-twice",
        edit(set_key("preprocessing.columns.4.rare_levels", ["a", "a"])),
        "'a' is there twice",
    ),
    ("history-text-epochs", edit(set_key("history.epochs", ["a"])), "field 'history.epochs[0]'"),
    ("drift-text", edit(set_key("drift.columns.x.low", "low")), "field 'drift.columns.x.low'"),
    (
        "validation-error-text",
        edit(set_key("report.validation.mean_ae_error", "low")),
        "field 'report.validation.mean_ae_error'",
    ),
    (
        "validation-rows-negative",
        edit(set_key("report.validation.rows", -1)),
        "field 'report.validation.rows'",
    ),
    ("future-version", edit(set_key("format_version", 99)), "format version 99"),
    ("bool-version", edit(set_key("format_version", True)), "format version True"),
    ("nan-weights", nan_weights, "NaN or infinite weights"),
    ("truncated-weights", truncated_weights, "cannot be read as safetensors"),
    ("schema-lacks-a-feature", schema_without("x"), "schema.yaml lacks the feature column 'x'"),
]


@pytest.mark.parametrize(("name", "damage", "says"), CASES, ids=[c[0] for c in CASES])
def test_a_damaged_manifest_is_refused_naming_the_field(
    model_copy: Path, name: str, damage: Edit, says: str
) -> None:
    damage(model_copy, manifest_of(model_copy))
    with pytest.raises(ModelFileError) as raised:
        aef.load(model_copy)
    assert says in str(raised.value) and raised.value.hint, str(raised.value)


def test_every_reader_validates_the_whole_manifest(
    model_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(set_key("net.n_inputs", 10**9))(model_copy, manifest_of(model_copy))
    with pytest.raises(ModelFileError, match="net.n_inputs"):
        read_manifest(model_copy)  # validate --model, report, the Spark driver, the MLflow flavor
    for argv in (["info", str(model_copy)], ["report", str(model_copy), "-o", "r.html"]):
        assert main(argv) == 1
        assert "net.n_inputs" in capsys.readouterr().err


def test_extra_files_and_links_are_allowed_when_reading(model_copy: Path, tmp_path: Path) -> None:
    (model_copy / "notes.txt").write_text("mine")  # read: ignored (never replaced by --overwrite)
    link = tmp_path / "linked-model"
    link.symlink_to(model_copy)
    assert aef.load(link).columns == aef.load(model_copy).columns


def test_a_manifest_that_is_not_a_regular_file_is_missing(model_copy: Path) -> None:
    (model_copy / MANIFEST).unlink()
    (model_copy / MANIFEST).symlink_to("/dev/zero")
    with pytest.raises(ModelFileError, match="not a regular file"):
        aef.load(model_copy)


def test_a_fresh_model_passes_its_own_validation(model_copy: Path) -> None:
    reseal(model_copy, manifest_of(model_copy))  # resealing alone changes nothing that matters
    assert aef.load(model_copy).info()["columns"]


def huge_weights(directory: Path, manifest: dict[str, Any]) -> None:
    """Every weight 3e38: finite, so the file passes its checks, but the network's outputs overflow."""
    tensors = {
        name: torch.full_like(tensor, 3e38) for name, tensor in load_file(str(directory / WEIGHTS)).items()
    }
    save_file(tensors, str(directory / WEIGHTS))
    reseal(directory, manifest)


@pytest.mark.parametrize("command", ["transform", "impute", "sample"])
def test_weights_that_overflow_fail_every_command_and_write_nothing(
    model_copy: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    huge_weights(model_copy, manifest_of(model_copy))
    rows = make_mixed(50, seed=2).with_columns(income=None)  # holes: impute has cells to fill
    rows.write_parquet(tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    source = ["-n", "20"] if command == "sample" else [str(tmp_path / "in.parquet")]
    assert main([command, *source, "--model", str(model_copy), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "non-finite values for" in err and "re-fit" in err and not out.exists()
