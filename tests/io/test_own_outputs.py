"""What counts as aefeatures' own output: only what aefeatures writes, in full (issue 26, class 1).

``--overwrite`` replaces a directory only when it is exactly what aefeatures writes there: a
manifest of the model format with only aefeatures' keys and a matching checksum of itself,
listing exactly the weights and the schema with their SHA-256, nothing else but the report; a
checkpoint whose ``state.json`` has every key aefeatures writes and the tensors' SHA-256; an
MLflow export whose ``MLmodel`` names a plain directory inside it. A manifest that only claims
to be one never gets the user's file deleted.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.fitting.checkpoint import Checkpoint
from aefeatures.io.artifacts import artifact_kind
from aefeatures.io.sinks import file_sha256
from aefeatures.model.manifest import MANIFEST, MANIFEST_DIGEST, SCHEMA, WEIGHTS, sealed
from aefeatures.transform.streaming import transform_path
from tests.helpers import make_mixed


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _reseal(directory: Path, change: Callable[[dict[str, object]], None]) -> None:
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest.pop(MANIFEST_DIGEST)
    change(manifest)
    (directory / MANIFEST).write_text(json.dumps(sealed(manifest)))


def test_a_hand_written_manifest_naming_a_users_file_gets_nothing_deleted(tmp_path: Path) -> None:
    """The issue's case: a manifest claiming to be a model, listing the user's own file."""
    make_mixed(200).write_parquet(tmp_path / "data.parquet")
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    claim = {"format": "aefeatures-model", "format_version": 1, "files": {"thesis.tex": "x"}}
    (target / MANIFEST).write_text(json.dumps(claim))
    before = snapshot(target)
    code = main(["fit", str(tmp_path / "data.parquet"), "--model", str(target), "--overwrite", "--epochs", "1", "--quiet"])  # fmt: skip
    assert code == 1 and snapshot(target) == before
    assert artifact_kind(target) is None


def _edits() -> dict[str, Callable[[Path], None]]:
    """Ways a real model directory stops being exactly what aefeatures wrote."""

    def schema_edited(d: Path) -> None:
        (d / SCHEMA).write_text((d / SCHEMA).read_text() + "# my note\n")

    def manifest_edited(d: Path) -> None:  # a field changed by hand, the checksum left as it was
        manifest = json.loads((d / MANIFEST).read_text())
        manifest["created"] = "2020-01-01T00:00:00+00:00"
        (d / MANIFEST).write_text(json.dumps(manifest))

    def extra_key(d: Path) -> None:  # resealed, but with a key aefeatures never writes
        _reseal(d, lambda m: m.update(notes="mine"))

    def files_list_a_users_file(d: Path) -> None:  # resealed, listing a third file with its checksum
        (d / "notes.txt").write_text("mine")
        _reseal(d, lambda m: m["files"].update({"notes.txt": file_sha256(d / "notes.txt")}))  # type: ignore[attr-defined]

    def version_is_text(d: Path) -> None:
        _reseal(d, lambda m: m.update(format_version="1"))

    def weights_linked(d: Path) -> None:  # the same bytes, but through a link to the user's file
        outside = d.parent / f"{d.name}-weights"
        shutil.copyfile(d / WEIGHTS, outside)
        (d / WEIGHTS).unlink()
        (d / WEIGHTS).symlink_to(outside)

    def report_replaced(d: Path) -> None:
        (d / "report.html").write_text("<p>my own page</p>")

    def subdirectory(d: Path) -> None:
        (d / "extra").mkdir()

    return {
        "schema-edited": schema_edited,
        "manifest-edited": manifest_edited,
        "extra-key": extra_key,
        "files-list-a-users-file": files_list_a_users_file,
        "version-is-text": version_is_text,
        "weights-linked": weights_linked,
        "report-replaced": report_replaced,
        "subdirectory": subdirectory,
    }


@pytest.mark.parametrize("edit", list(_edits()))
def test_a_model_directory_changed_after_it_was_written_is_not_replaced(
    quick_model: aef.AutoencoderModel, tmp_path: Path, edit: str
) -> None:
    target = quick_model.save(tmp_path / "m")
    assert artifact_kind(target) == "model"
    _edits()[edit](target)
    before = snapshot(target)
    assert artifact_kind(target) is None
    with pytest.raises(aef.OutputExistsError, match="not replaced, even with --overwrite"):
        quick_model.save(target, overwrite=True)
    assert snapshot(target) == before


def test_a_saved_model_with_its_report_is_still_replaced(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    target = quick_model.save(tmp_path / "m")
    assert (target / "report.html").is_file()
    quick_model.save(target, overwrite=True)
    assert artifact_kind(target) == "model"


def test_the_old_model_directory_is_recognised(tmp_path: Path) -> None:
    old = shutil.copytree(Path(__file__).parents[1] / "features" / "data" / "old_model", tmp_path / "old")
    assert artifact_kind(old) == "model"


def test_a_checkpoint_is_recognised_only_in_full(tmp_path: Path) -> None:
    make_mixed(300).write_parquet(tmp_path / "t.parquet")
    store = Checkpoint(tmp_path / "ck", every_seconds=0)
    aef.fit(tmp_path / "t.parquet", epochs=2, threads=1, checkpoint=store)
    assert artifact_kind(store.path) == "checkpoint"
    state = json.loads((store.path / "state.json").read_text())
    for change in ({"extra": 1}, {"tensors_sha256": "0" * 64}, {"format_version": 2}):
        (store.path / "state.json").write_text(json.dumps(state | change))
        assert artifact_kind(store.path) is None, change
    (store.path / "state.json").write_text(json.dumps({k: v for k, v in state.items() if k != "epochs"}))
    assert artifact_kind(store.path) is None


def test_a_users_directory_named_as_the_checkpoint_is_never_deleted(tmp_path: Path) -> None:
    """A fit too short to checkpoint once deleted whatever --checkpoint named; now such a path is
    refused before training, and removing the checkpoint removes only a checkpoint."""
    make_mixed(300).write_parquet(tmp_path / "t.parquet")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "state.json").write_text(json.dumps({"format": "aefeatures-checkpoint"}))
    (mine / "notes.txt").write_text("keep me")
    before = snapshot(mine)
    with pytest.raises(
        aef.OutputExistsError, match="aefeatures did not write this directory"
    ):  # before training
        aef.fit(tmp_path / "t.parquet", epochs=1, threads=1, checkpoint=Checkpoint(mine, every_seconds=3600))
    Checkpoint(mine).remove()  # what the CLI's fit does once the model is written
    assert snapshot(mine) == before


def test_a_directory_of_marked_parquet_with_a_users_file_is_not_replaced(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    make_mixed(100).write_parquet(tmp_path / "in" / "part.parquet")
    out = tmp_path / "out"
    transform_path(quick_model, tmp_path / "in", out)
    assert artifact_kind(out) == "parquet"
    (out / "part.PARQUET").write_bytes((out / "part.parquet").read_bytes())  # same bytes, another name
    assert artifact_kind(out) is None
    with pytest.raises(aef.OutputExistsError, match="not replaced, even with --overwrite"):
        transform_path(quick_model, tmp_path / "in", out, overwrite=True)


def test_a_reviewed_schema_file_is_never_replaced(tmp_path: Path) -> None:
    """'schema infer' asks for the file to be reviewed and edited: an edited one is the user's."""
    make_mixed(100).write_parquet(tmp_path / "d.parquet")
    target = tmp_path / "s.yaml"
    infer = ["schema", "infer", str(tmp_path / "d.parquet"), "--output", str(target)]
    assert main(infer) == 0 and artifact_kind(target) == "schema"
    assert main([*infer, "--overwrite"]) == 0  # as written: replaced
    reviewed = target.read_text().replace("nullable: true", "nullable: false", 1)
    target.write_text(reviewed)
    assert artifact_kind(target) is None
    assert main([*infer, "--overwrite"]) == 1 and target.read_text() == reviewed


def test_a_data_path_with_a_newline_cannot_write_into_the_schema(tmp_path: Path) -> None:
    data = tmp_path / "d\ncolumns: {}.parquet"
    make_mixed(100).write_parquet(data)
    assert main(["schema", "infer", str(data), "--output", str(tmp_path / "s.yaml")]) == 0
    text = (tmp_path / "s.yaml").read_text()
    assert all(line.startswith("#") for line in text.split("# aefeatures-sha256")[0].splitlines())
    assert artifact_kind(tmp_path / "s.yaml") == "schema"
    assert aef.fit(data, schema=tmp_path / "s.yaml", epochs=1, threads=1).columns
