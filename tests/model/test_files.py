"""The model directory: safetensors + JSON + YAML, checked at load, rebuilt from the directory alone."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import aefeatures as aef
from aefeatures.errors import ModelFileError, OutputExistsError
from aefeatures.model.manifest import FORMAT_VERSION, MANIFEST, SCHEMA, WEIGHTS
from tests.helpers import make_mixed


def test_directory_holds_weights_manifest_and_schema_without_pickle(fitted_model_dir: Path) -> None:
    names = {p.name for p in fitted_model_dir.iterdir()}
    assert {WEIGHTS, MANIFEST, SCHEMA} <= names
    for path in fitted_model_dir.rglob("*"):
        data = path.read_bytes()
        assert not data.startswith(b"\x80"), f"{path.name} looks like a pickle"
        assert b"torch._utils" not in data and b"cnumpy" not in data
    manifest = json.loads((fitted_model_dir / MANIFEST).read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    for key in (
        "config",
        "net",
        "preprocessing",
        "calibration",
        "history",
        "fingerprint",
        "versions",
        "files",
    ):
        assert key in manifest
    assert manifest["config"]["seed"] == 0 and manifest["config"]["exclude"] == ["id", "label"]
    assert manifest["fingerprint"]["rows"] == 600
    weights = load_file(str(fitted_model_dir / WEIGHTS))
    assert all(isinstance(t, torch.Tensor) for t in weights.values())
    assert (
        "pandera" in (fitted_model_dir / SCHEMA).read_text()
        or "columns:" in (fitted_model_dir / SCHEMA).read_text()
    )


def test_load_rebuilds_an_identical_model(fitted_model_dir: Path, tmp_path: Path) -> None:
    model = aef.load(fitted_model_dir)
    frame = make_mixed(100, seed=3)
    again = aef.load(model.save(tmp_path / "resaved"))
    assert again.transform(frame).equals(model.transform(frame))
    assert again.info()["columns"] == model.info()["columns"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_every_model_file_gets_the_mode_the_umask_gives(
    model: aef.AutoencoderModel, tmp_path: Path, umask: int
) -> None:
    """A service running as another user reads the weights when it can read the manifest (not 0600)."""
    previous = os.umask(umask)
    try:
        model.save(tmp_path / "m")
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "m").iterdir()}
    assert WEIGHTS in modes and set(modes.values()) == {0o666 & ~umask}, modes


def test_save_refuses_to_overwrite_without_permission(fitted_model_dir: Path) -> None:
    model = aef.load(fitted_model_dir)
    before = (fitted_model_dir / MANIFEST).read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        model.save(fitted_model_dir)
    assert (fitted_model_dir / MANIFEST).read_bytes() == before


def test_tampered_weights_are_refused(model_copy: Path) -> None:
    data = bytearray((model_copy / WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (model_copy / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        aef.load(model_copy)


def test_future_format_version_is_refused(model_copy: Path) -> None:
    manifest = json.loads((model_copy / MANIFEST).read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (model_copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="format version"):
        aef.load(model_copy)


def test_missing_file_and_non_model_directory_are_clear_errors(model_copy: Path, tmp_path: Path) -> None:
    (model_copy / SCHEMA).unlink()
    with pytest.raises(ModelFileError, match="schema.yaml is missing"):
        aef.load(model_copy)
    with pytest.raises(ModelFileError, match="not a model directory"):
        aef.load(tmp_path)


def test_manifest_cannot_name_files_outside_the_directory(model_copy: Path) -> None:
    manifest = json.loads((model_copy / MANIFEST).read_text())
    manifest["files"]["../../etc/passwd"] = manifest["files"].pop(SCHEMA)
    (model_copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="unexpected files"):
        aef.load(model_copy)
