"""Outputs never destroy what aefeatures did not write: inputs, users' files and directories, or
another run's output.

``--overwrite`` replaces only an earlier aefeatures artifact of the same kind (a model directory,
a checkpoint, marked Parquet output, a report ...), never an input, never a file where a directory
goes or the reverse; without it, two runs racing for one absent path cannot both "succeed".
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import threading
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.errors import OutputExistsError
from aefeatures.io import renames, sinks
from aefeatures.io.artifacts import CHECKPOINT_KEYS, artifact_kind
from aefeatures.io.formats import MARKER_KEY, parquet_marker
from aefeatures.io.sinks import atomic_path, check_output
from aefeatures.io.writers import write_parquet
from aefeatures.model.files import write_report
from aefeatures.transform.streaming import transform_path
from tests.helpers import make_mixed, start_cli, write_partitioned


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (``root`` itself when it is a file) with its bytes."""
    if root.is_file():
        return {root.name: root.read_bytes()}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the CLI cases of the issue ------------------------------------------------------------------------


def test_fit_never_replaces_its_own_training_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.parquet"
    make_mixed(200).write_parquet(data)
    before = data.read_bytes()
    code = main(["fit", str(data), "--model", str(data), "--overwrite", "--epochs", "1", "--quiet"])
    assert code == 1 and data.read_bytes() == before
    error = capsys.readouterr().err
    assert "data.parquet" in error and "is an input of this command" in error and "Hint:" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.parquet"]


def test_fit_never_replaces_a_directory_holding_its_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    make_mixed(200).write_parquet(folder / "train.parquet")
    (folder / "notes.txt").write_text("mine")
    before = snapshot(folder)
    code = main(
        ["fit", str(folder / "train.parquet"), "--model", str(folder), "--overwrite", "--epochs", "1"]
    )
    assert code == 1 and snapshot(folder) == before
    assert "is a directory holding" in capsys.readouterr().err


def test_model_save_refuses_its_input_even_when_it_is_an_aefeatures_output(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    data = write_parquet(make_mixed(100), tmp_path / "features.parquet", overwrite=False)
    before = data.read_bytes()
    with pytest.raises(OutputExistsError, match="an input of this command"):
        quick_model.save(data, overwrite=True, inputs=[data])
    with pytest.raises(OutputExistsError, match="is a directory holding .*, an input of this command"):
        quick_model.save(tmp_path, overwrite=True, inputs=[str(tmp_path / "*.parquet")])
    # Without the inputs named, a model still never replaces Parquet output, file or directory.
    with pytest.raises(OutputExistsError, match="it is a file and the output is a directory"):
        quick_model.save(data, overwrite=True)
    dataset = tmp_path / "dataset"
    with atomic_path(dataset, overwrite=False) as temporary:
        _write_directory(temporary, 0)
    with pytest.raises(
        OutputExistsError, match="it is Parquet output written by aefeatures, not an aefeatures model"
    ):
        quick_model.save(dataset, overwrite=True)
    assert data.read_bytes() == before and pl.read_parquet(dataset / "*.parquet").height == 3000


def test_transform_refuses_to_write_onto_its_input_through_a_link(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    data = write_parquet(make_mixed(100), tmp_path / "in.parquet", overwrite=False)
    link = tmp_path / "link.parquet"
    link.symlink_to(data)
    with pytest.raises(OutputExistsError, match="an input of this command"):
        check_output(link, overwrite=True, kind="parquet", inputs=[data])
    with pytest.raises(OutputExistsError, match="symbolic link"):
        transform_path(quick_model, make_mixed_path(tmp_path), link, overwrite=True)
    assert link.is_symlink() and pl.read_parquet(data).equals(make_mixed(100))


def test_refuse_inputs_for_writers_outside_atomic_path(tmp_path: Path) -> None:
    data = tmp_path / "in" / "part.parquet"
    data.parent.mkdir()
    make_mixed(10).write_parquet(data)
    for output in (data, data.parent, tmp_path):
        with pytest.raises(OutputExistsError, match="an input of this command"):
            sinks.refuse_inputs(output, [str(tmp_path / "in" / "*.parquet")])
    sinks.refuse_inputs(tmp_path / "out", [data])  # elsewhere: fine
    sinks.refuse_inputs(data.parent / "new.parquet", [data])  # next to an input file: fine
    with pytest.raises(OutputExistsError, match="is inside"):  # inside an input directory: read back later
        sinks.refuse_inputs(data.parent / "new.parquet", [data.parent])


def make_mixed_path(tmp_path: Path) -> Path:
    path = tmp_path / "source" / "mixed.parquet"
    path.parent.mkdir(exist_ok=True)
    make_mixed(120).write_parquet(path)
    return path


# --- what --overwrite may replace ----------------------------------------------------------------------


def test_overwrite_replaces_an_earlier_model_but_no_other_directory(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    target = quick_model.save(tmp_path / "m")
    assert artifact_kind(target) == "model"
    quick_model.save(target, overwrite=True)  # an earlier model: replaced
    assert aef.load(target).columns == quick_model.columns

    (target / "notes.txt").write_text("my notes")  # a model directory with a file of the user's
    with pytest.raises(OutputExistsError, match=r"files of its own: notes\.txt"):
        quick_model.save(target, overwrite=True)
    assert (target / "notes.txt").read_text() == "my notes"

    for name, make in {
        "empty": lambda p: p.mkdir(),
        "user": lambda p: (p.mkdir(), (p / "a.csv").write_text("1")),
    }.items():
        folder = tmp_path / name
        make(folder)
        before = snapshot(folder)
        with pytest.raises(OutputExistsError, match="aefeatures did not write this directory"):
            quick_model.save(folder, overwrite=True)
        assert folder.is_dir() and snapshot(folder) == before


def test_a_file_is_never_replaced_by_a_directory_or_the_reverse(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    output = write_parquet(make_mixed(50), tmp_path / "out.parquet", overwrite=False)
    with pytest.raises(OutputExistsError, match="it is a file and the output is a directory"):
        quick_model.save(output, overwrite=True)
    model_dir = quick_model.save(tmp_path / "m")
    with pytest.raises(OutputExistsError, match="is an aefeatures model directory, not Parquet output"):
        write_parquet(make_mixed(50), model_dir, overwrite=True)
    with pytest.raises(OutputExistsError, match="is an aefeatures model directory, not Parquet output"):
        transform_path(quick_model, output, model_dir, overwrite=True)
    assert artifact_kind(output) == "parquet" and artifact_kind(model_dir) == "model"


def test_parquet_outputs_carry_the_marker_and_users_parquet_files_are_kept(
    quick_model: aef.AutoencoderModel, mixed_parquet: Path, tmp_path: Path
) -> None:
    users = tmp_path / "users.parquet"
    make_mixed(30).write_parquet(users)
    with pytest.raises(OutputExistsError, match="aefeatures did not write this file"):
        transform_path(quick_model, mixed_parquet, users, overwrite=True)
    assert pl.read_parquet(users).equals(make_mixed(30))

    for written in (
        write_parquet(make_mixed(30), tmp_path / "a.parquet", overwrite=False),
        Path(transform_path(quick_model, mixed_parquet, tmp_path / "b.parquet").output),
    ):
        assert MARKER_KEY.encode() in (pq.read_metadata(written).metadata or {})
        assert artifact_kind(written) == "parquet"
    transform_path(quick_model, mixed_parquet, tmp_path / "a.parquet", overwrite=True)
    assert pl.read_parquet(tmp_path / "a.parquet").height == 600


def test_a_partitioned_output_is_replaced_only_while_it_holds_nothing_else(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    source = tmp_path / "events"
    write_partitioned(source, rows=300)
    out = tmp_path / "out"
    transform_path(quick_model, source, out)
    assert artifact_kind(out) == "parquet"
    transform_path(quick_model, source, out, overwrite=True)
    (out / "region=north" / "README").write_text("keep")
    with pytest.raises(OutputExistsError, match="aefeatures did not write this directory"):
        transform_path(quick_model, source, out, overwrite=True)
    assert (out / "region=north" / "README").read_text() == "keep"
    with pytest.raises(OutputExistsError, match="is a directory holding .*, an input of this command"):
        check_output(tmp_path, overwrite=True, kind="parquet", inputs=[source])


def test_reports_replace_reports_only(fitted_model_dir: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html>my own page</html>")
    with pytest.raises(OutputExistsError, match="aefeatures did not write this file"):
        write_report(fitted_model_dir, page, overwrite=True)
    assert page.read_text() == "<html>my own page</html>"
    report = write_report(fitted_model_dir, tmp_path / "report.html")
    assert artifact_kind(report) == "report"
    write_report(fitted_model_dir, report, overwrite=True)


def test_a_checkpoint_replaces_only_a_checkpoint(tmp_path: Path) -> None:
    def checkpoint_like(directory: Path) -> None:  # every key fitting/checkpoint.py writes
        directory.mkdir()
        (directory / "state.safetensors").write_bytes(b"tensors")
        state = dict.fromkeys(CHECKPOINT_KEYS, 0) | {"format": "aefeatures-checkpoint", "format_version": 1}
        state["tensors_sha256"] = sinks.file_sha256(directory / "state.safetensors")
        (directory / "state.json").write_text(json.dumps(state))

    target = tmp_path / "m.checkpoint"
    with atomic_path(target, overwrite=True) as temporary:
        checkpoint_like(temporary)
    assert artifact_kind(target) == "checkpoint"
    with atomic_path(target, overwrite=True) as temporary:  # the kind is read from what was written
        checkpoint_like(temporary)
    shutil.rmtree(target)
    target.mkdir()
    (target / "data.csv").write_text("1,2")
    refused = pytest.raises(OutputExistsError, match="aefeatures did not write this directory")
    with refused, atomic_path(target, overwrite=True) as temporary:
        checkpoint_like(temporary)
    assert (target / "data.csv").read_text() == "1,2"
    assert not list(tmp_path.glob(".m.checkpoint.*"))  # no temporary left behind


def test_without_overwrite_the_hint_says_whether_overwrite_would_help(tmp_path: Path) -> None:
    mine = write_parquet(make_mixed(10), tmp_path / "mine.parquet", overwrite=False)
    theirs = tmp_path / "theirs.parquet"
    theirs.write_bytes(b"x")
    with pytest.raises(OutputExistsError, match="already exists") as replaceable:
        check_output(mine, overwrite=False, kind="parquet")
    assert "pass --overwrite" in replaceable.value.hint
    with pytest.raises(OutputExistsError, match="already exists") as kept:
        check_output(theirs, overwrite=False, kind="parquet")
    assert "--overwrite would not replace it either" in kept.value.hint


# --- racing runs -----------------------------------------------------------------------------------------


def _race(target: Path, write: object, *, overwrite: bool = False) -> list[object]:
    """Run two writers through ``atomic_path`` at once: both pass the early check, then both publish."""
    barrier = threading.Barrier(2, timeout=60)
    results: list[object] = [None, None]

    def run(i: int) -> None:
        try:
            with atomic_path(target, overwrite) as temporary:
                write(temporary, i)  # type: ignore[operator]
                barrier.wait()
            results[i] = "ok"
        except OutputExistsError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _write_file(temporary: Path, i: int) -> None:
    pl.DataFrame({"writer": [i] * 50_000}).write_parquet(temporary, metadata=parquet_marker())


def _write_directory(temporary: Path, i: int) -> None:
    temporary.mkdir()
    for part in range(3):
        pl.DataFrame({"writer": [i] * 1000}).write_parquet(
            temporary / f"{part}.parquet", metadata=parquet_marker()
        )


def _assert_one_winner(results: list[object]) -> int:
    assert results.count("ok") == 1, results
    loser = results[1 - results.index("ok")]
    assert isinstance(loser, OutputExistsError) and "already exists" in str(loser)
    return results.index("ok")


@pytest.mark.parametrize("portable", [False, True], ids=["renameat2", "link-or-mkdir"])
@pytest.mark.parametrize("write", [_write_file, _write_directory], ids=["file", "directory"])
def test_two_writers_racing_for_one_path_cannot_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, portable: bool, write: object
) -> None:
    if portable:  # a system without renameat2: hard link for a file, a claimed directory for a directory
        monkeypatch.setattr(renames, "_renameat2", lambda source, target, flags: False)
    target = tmp_path / "out.parquet"
    winner = _assert_one_winner(_race(target, write))
    written = pl.read_parquet(target / "*.parquet" if target.is_dir() else target)
    assert written["writer"].unique().to_list() == [winner]  # complete, and one writer's only
    assert written.height == (3000 if target.is_dir() else 50_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]  # no temporaries


def test_a_file_system_without_hard_links_still_refuses_to_clobber(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(renames, "_renameat2", lambda source, target, flags: False)
    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "out.parquet"
    winner = _assert_one_winner(_race(target, _write_file))
    assert pl.read_parquet(target)["writer"].unique().to_list() == [winner]


def test_racing_writers_with_overwrite_replace_each_other_completely(tmp_path: Path) -> None:
    target = tmp_path / "out"
    assert _race(target, _write_directory, overwrite=True) == ["ok", "ok"]
    written = pl.read_parquet(target / "*.parquet")
    assert written.height == 3000 and written["writer"].n_unique() == 1


def _process_writer(target: str, i: int, barrier: object, results: object) -> None:
    try:
        with atomic_path(target, False, kind="parquet") as temporary:
            _write_file(temporary, i)
            barrier.wait(timeout=60)  # type: ignore[attr-defined]
        results.put((i, "ok"))  # type: ignore[attr-defined]
    except OutputExistsError as exc:
        results.put((i, str(exc)))  # type: ignore[attr-defined]


def test_two_processes_racing_for_one_path(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    target = tmp_path / "out.parquet"
    processes = [
        context.Process(target=_process_writer, args=(str(target), i, barrier, results)) for i in range(2)
    ]
    for process in processes:
        process.start()
    outcome = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    winners = [i for i, result in outcome.items() if result == "ok"]
    assert len(winners) == 1 and "already exists" in outcome[1 - winners[0]]
    assert pl.read_parquet(target)["writer"].unique().to_list() == winners


def test_two_cli_transforms_racing_for_one_output(fitted_model_dir: Path, tmp_path: Path) -> None:
    make_mixed(2000, seed=4).write_parquet(tmp_path / "in.parquet")
    args = ("transform", "in.parquet", "--model", fitted_model_dir, "--output", "out.parquet", "--quiet")
    runs = [start_cli(*args, cwd=tmp_path) for _ in range(2)]
    errors = [run.communicate(timeout=300)[1] for run in runs]
    outcomes = [(run.returncode, error) for run, error in zip(runs, errors, strict=True)]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 1], outcomes
    assert "already exists" in next(err for code, err in outcomes if code == 1)
    written = pl.read_parquet(tmp_path / "out.parquet")
    assert written.height == 2000 and written["ae_error"].is_finite().all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet", "out.parquet"]


def test_an_mlflow_export_replaces_only_an_mlflow_export(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    aem = pytest.importorskip("aefeatures.integrations.mlflow")
    path = aem.save_model(quick_model, tmp_path / "exported", input_example=False)
    assert artifact_kind(path) == "mlflow"
    aem.save_model(quick_model, path, overwrite=True)
    with pytest.raises(
        OutputExistsError, match="is an MLflow export of an aefeatures model, not an aefeatures model"
    ):
        quick_model.save(path, overwrite=True)
    (path / "notes.md").write_text("mine")
    with pytest.raises(OutputExistsError, match="aefeatures did not write this directory"):
        aem.save_model(quick_model, path, overwrite=True)
    assert (path / "notes.md").read_text() == "mine"


def test_an_output_inside_an_input_directory_is_refused(
    quick_model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    model_dir = quick_model.save(tmp_path / "model")
    data = tmp_path / "data"
    data.mkdir()
    make_mixed(50).write_parquet(data / "part.parquet")
    before = snapshot(model_dir)
    with pytest.raises(OutputExistsError, match="is inside .*an input of this command"):
        check_output(model_dir / "x.parquet", False, kind="parquet", inputs=[data, model_dir])
    with pytest.raises(OutputExistsError, match="is inside .*an input of this command"):
        check_output(data / "out.parquet", False, kind="parquet", inputs=[data, model_dir])
    assert snapshot(model_dir) == before and artifact_kind(model_dir) == "model"
    check_output(tmp_path / "out.parquet", False, kind="parquet", inputs=[data, model_dir])  # beside: fine
