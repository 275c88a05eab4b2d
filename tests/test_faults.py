"""Faults: a transform or fit killed with SIGKILL leaves nothing or the previous complete output,
and a killed fit resumed with ``--resume`` ends with exactly the model an uninterrupted fit gives."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import torch
from safetensors.torch import load_file

import aefeatures as aef
from aefeatures.io.writers import write_parquet
from aefeatures.model.manifest import WEIGHTS
from tests.helpers import assert_same_tensors, make_mixed, run_cli, start_cli, weights

FIT_ARGS = ("--exclude", "id,label", "--epochs", "15", "--seed", "3", "--threads", "1")


def kill_when(process: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 240.0) -> None:
    """SIGKILL ``process`` as soon as ``ready()`` holds; fail if it ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            pytest.fail(
                f"the command ended (exit {process.returncode}) before it could be killed: {process.communicate()[1]}"
            )
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the command never reached the point where it should be killed")
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("faults")
    make_mixed(2000, seed=5).write_parquet(directory / "train.parquet")
    make_mixed(20_000, seed=6).write_parquet(directory / "big.parquet", row_group_size=5000)
    return directory


def test_killed_transform_leaves_the_previous_complete_output(workdir: Path, fitted_model_dir: Path) -> None:
    previous = workdir / "out.parquet"
    write_parquet(make_mixed(50, seed=7), previous, overwrite=False)  # an earlier aefeatures output
    before = previous.read_bytes()
    process = start_cli(
        "transform",
        "big.parquet",
        "--model",
        fitted_model_dir,
        "--output",
        "out.parquet",
        "--overwrite",
        "--batch-rows",
        "250",
        "--quiet",
        cwd=workdir,
    )

    def writing() -> bool:  # the temporary output exists and already holds written batches
        return any(p.stat().st_size > 32_000 for p in workdir.glob(".out.parquet.tmp-*"))

    kill_when(process, writing)
    assert previous.read_bytes() == before
    assert pl.read_parquet(previous).equals(make_mixed(50, seed=7))
    # The killed run's temporary file is hidden and never read as data.
    leftovers = list(workdir.glob(".out.parquet.tmp-*"))
    assert leftovers and all(p.name.startswith(".") for p in leftovers)


@pytest.mark.slow
def test_killed_fit_keeps_the_previous_model_and_resume_reaches_the_uninterrupted_one(
    workdir: Path, fitted_model_dir: Path
) -> None:
    shutil.copytree(fitted_model_dir, workdir / "m")
    previous = {p.name: p.read_bytes() for p in (workdir / "m").iterdir()}
    args = ("fit", "train.parquet", "--model", "m", "--overwrite", "--checkpoint-every", "0", *FIT_ARGS)
    process = start_cli(*args, cwd=workdir)
    state = workdir / "m.checkpoint" / "state.json"

    def past_epoch_two() -> bool:
        try:
            return json.loads(state.read_text())["epoch"] >= 2
        except (OSError, ValueError):
            return False

    kill_when(process, past_epoch_two)
    assert {p.name: p.read_bytes() for p in (workdir / "m").iterdir()} == previous  # untouched, loadable
    assert aef.load(workdir / "m").columns == aef.load(fitted_model_dir).columns
    killed_at = json.loads(state.read_text())["epoch"]

    resumed = run_cli(*args, "--resume", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    assert f"after epoch {killed_at}" in resumed.stderr
    assert not (workdir / "m.checkpoint").exists()  # removed once the model is written

    torch.set_num_threads(1)
    uninterrupted = aef.fit(workdir / "train.parquet", exclude=["id", "label"], epochs=15, seed=3, threads=1)
    model = aef.load(workdir / "m")
    assert len(model.metadata["history"]["epochs"]) == len(uninterrupted.metadata["history"]["epochs"])
    assert_same_tensors(load_file(str(workdir / "m" / WEIGHTS)), weights(uninterrupted))
    frame = make_mixed(300, seed=8)
    assert model.transform(frame).equals(uninterrupted.transform(frame))
