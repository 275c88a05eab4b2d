"""Safety: no pickle anywhere in the package, loading a model directory never runs code from it,
and nothing the manifest says can reach outside the directory."""

from __future__ import annotations

import ast
import hashlib
import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch

import aefeatures as aef
from aefeatures.errors import ModelFileError
from aefeatures.fitting.checkpoint import STATE, TENSORS, Checkpoint
from aefeatures.model.manifest import MANIFEST, MANIFEST_DIGEST, SCHEMA, WEIGHTS, sealed
from tests.helpers import make_mixed

PACKAGE = Path(aef.__file__).parent
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def unsafe_uses(source: str) -> list[str]:
    """Pickle imports, ``torch.load`` without ``weights_only=True``, ``torch.save``, ``allow_pickle=True``, eval/exec."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names] + (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            )
            found += [f"import {n}" for n in names if n.split(".")[0] in UNSAFE_MODULES]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        keywords = {k.arg: k.value for k in node.keywords}
        weights_only = keywords.get("weights_only")
        if (
            owner == "torch"
            and name == "load"
            and not (isinstance(weights_only, ast.Constant) and weights_only.value is True)
        ):
            found.append(f"torch.load without weights_only=True (line {node.lineno})")
        if owner == "torch" and name == "save":
            found.append(f"torch.save writes pickle (line {node.lineno})")
        allow = keywords.get("allow_pickle")
        if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
            found.append(f"allow_pickle (line {node.lineno})")
        if isinstance(func, ast.Name) and name in ("eval", "exec") or name in ("read_pickle", "to_pickle"):
            found.append(f"{name} (line {node.lineno})")
    return found


def test_the_detector_catches_what_it_must() -> None:
    bad = "import pickle\nfrom joblib import load\nimport torch\ntorch.load(p)\ntorch.load(p, weights_only=False)\n"
    bad += "torch.save(m, p)\nnp.load(p, allow_pickle=True)\neval('1')\npd.read_pickle(p)\n"
    assert len(unsafe_uses(bad)) == 8
    good = (
        "import torch, json\ntorch.load(p, weights_only=True)\njson.loads(s)\nnp.load(p)\nself.net.eval()\n"
    )
    assert unsafe_uses(good) == []


def test_the_package_uses_no_pickle() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    problems = {str(f.relative_to(PACKAGE)): unsafe_uses(f.read_text()) for f in files}
    assert {name: found for name, found in problems.items() if found} == {}


def reseal(directory: Path) -> None:
    """Recompute every checksum, as an attacker who edits a model directory can."""
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["files"] = {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in manifest["files"]
    }
    manifest.pop(MANIFEST_DIGEST)
    (directory / MANIFEST).write_text(json.dumps(sealed(manifest)))


class Payload:
    """Unpickling this would create ``marker``: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "pwned"))  # type: ignore[return-value]


def test_a_pickle_in_place_of_the_weights_is_not_executed(model_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (model_copy / WEIGHTS).write_bytes(pickle.dumps(Payload(marker)))
    reseal(model_copy)
    with pytest.raises(ModelFileError, match="inconsistent"):
        aef.load(model_copy)
    assert not marker.exists()


def test_a_torch_save_file_in_place_of_the_weights_is_not_executed(model_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    torch.save({"weights": Payload(marker)}, model_copy / WEIGHTS)
    reseal(model_copy)
    with pytest.raises(ModelFileError):
        aef.load(model_copy)
    assert not marker.exists()


@pytest.mark.parametrize(
    "schema_text",
    [
        "!!python/object/apply:pathlib.Path.write_text [MARKER, pwned]\n",
        "schema_type: dataframe\ncolumns:\n  x: !!python/object/apply:pathlib.Path.write_text [MARKER, pwned]\n",
        "schema_type: dataframe\ncolumns:\n  x:\n    dtype: __import__('pathlib').Path('MARKER').write_text('pwned')\n",
    ],
    ids=["yaml-python-tag", "nested-python-tag", "dtype-expression"],
)
def test_a_hostile_schema_file_is_not_executed(schema_text: str, model_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (model_copy / SCHEMA).write_text(schema_text.replace("MARKER", str(marker)))
    reseal(model_copy)
    with pytest.raises(ModelFileError):
        aef.load(model_copy)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["../outside.yaml", "/etc/passwd", "sub/../../x", "report.html"])
def test_the_manifest_cannot_name_other_files(name: str, model_copy: Path) -> None:
    outside = model_copy.parent / "outside.yaml"
    shutil.copy(model_copy / SCHEMA, outside)
    manifest = json.loads((model_copy / MANIFEST).read_text())
    manifest["files"][name] = manifest["files"].pop(SCHEMA)
    manifest.pop(MANIFEST_DIGEST)
    (model_copy / MANIFEST).write_text(json.dumps(sealed(manifest)))
    with pytest.raises(ModelFileError, match="unexpected files"):
        aef.load(model_copy)


def test_a_hostile_checkpoint_is_not_executed(tmp_path: Path) -> None:
    frame = make_mixed(120, seed=2)
    checkpoint = tmp_path / "run.checkpoint"
    aef.fit(
        frame,
        exclude=["id", "label"],
        epochs=2,
        threads=1,
        checkpoint=Checkpoint(checkpoint, every_seconds=0),
    )
    marker = tmp_path / "pwned"
    (checkpoint / TENSORS).write_bytes(pickle.dumps(Payload(marker)))
    state = json.loads((checkpoint / STATE).read_text())
    state["tensors_sha256"] = hashlib.sha256((checkpoint / TENSORS).read_bytes()).hexdigest()
    (checkpoint / STATE).write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match="cannot be used"):
        aef.fit(frame, exclude=["id", "label"], epochs=2, threads=1, checkpoint=checkpoint, resume=True)
    assert not marker.exists()
