"""SIGTERM and SIGINT stop a command like Ctrl-C: unfinished outputs are removed, threads stopped.

The command line turns both signals into :class:`aefeatures.errors.Interrupted` in the main
thread (:func:`aefeatures.cli.app._signals_raise`), so ``atomic_path``'s clean-up runs, the
streaming transform's worker pool and writer thread stop first, and the exit code is 128 + the
signal number (143 for SIGTERM, 130 for SIGINT). The real CLI runs in a subprocess on a file
large enough to be signalled mid-transform.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.transform.workers import WriteBehind, ordered_map
from tests.helpers import start_cli

BIG_ROWS = 2_000_000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 2M-row Parquet file (seconds to transform) and a model of its two columns."""
    directory = tmp_path_factory.mktemp("signals")
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"x": rng.normal(size=BIG_ROWS), "y": rng.normal(size=BIG_ROWS)})
    frame.write_parquet(directory / "big.parquet", row_group_size=50_000)
    model = aef.fit(frame.head(2_000), epochs=2, threads=1).save(directory / "model")
    return directory / "big.parquet", model


def _wait_for(condition: Callable[[], bool], process: object, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, "the command ended before it could be signalled"  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the command never started writing"
        time.sleep(0.01)


def _temporaries(directory: Path) -> list[Path]:
    return sorted(directory.rglob(".*.tmp-*"))


@pytest.mark.parametrize(
    ("stop", "code", "threads"),
    [(signal.SIGTERM, 143, "2"), (signal.SIGINT, 130, "1")],
    ids=["sigterm-worker-threads", "sigint-one-thread"],
)
def test_a_signal_mid_transform_leaves_no_temporary_and_no_output(
    big: tuple[Path, Path], tmp_path: Path, stop: signal.Signals, code: int, threads: str
) -> None:
    data, model = big
    process = start_cli(
        "transform", data, "--model", model, "--output", "out.parquet",
        "--threads", threads, "--batch-rows", "8192", cwd=tmp_path,
    )  # fmt: skip
    _wait_for(lambda: bool(_temporaries(tmp_path)), process)  # the writer has opened its temporary
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert stop.name in stderr and "unfinished outputs were removed" in stderr
    assert "Traceback" not in stderr and "--resume" not in stderr  # no checkpoint to resume from
    assert _temporaries(tmp_path) == [] and not (tmp_path / "out.parquet").exists()


def test_sigterm_mid_fit_leaves_no_temporary_and_keeps_the_checkpoint(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pl.DataFrame({f"c{i}": rng.normal(size=20_000) for i in range(6)}).write_parquet(tmp_path / "t.parquet")
    process = start_cli(
        "fit", "t.parquet", "--epochs", "5000", "--set", "patience=5000", "--threads", "1",
        "--checkpoint-every", "0", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    checkpoint = tmp_path / "models" / "t.checkpoint"
    _wait_for(checkpoint.is_dir, process)  # training runs: an epoch was checkpointed
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "SIGTERM" in stderr and "the checkpoint 'models/t.checkpoint' is kept: add --resume" in stderr
    assert _temporaries(tmp_path) == [] and not (tmp_path / "models" / "t").exists()
    assert (checkpoint / "state.json").is_file()  # kept for --resume


def test_the_previous_signal_handlers_are_restored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert main(["info", "no-such-model"]) == 1
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_an_interrupted_pool_is_stopped_before_the_error_goes_on() -> None:
    started = threading.Event()

    def slow(item: int) -> int:
        started.set()
        time.sleep(0.05)
        return item

    results = ordered_map(slow, range(1_000), workers=3)
    assert next(results) == 0
    results.close()  # what an exception in the consumer (a signal) does to the generator
    assert not [t for t in threading.enumerate() if t.name.startswith("aefeatures_")]


def test_an_item_error_stops_every_worker() -> None:
    def fail_on_five(item: int) -> int:
        if item == 5:
            raise ValueError("five")
        time.sleep(0.01)
        return item

    with pytest.raises(ValueError, match="five"):
        list(ordered_map(fail_on_five, range(1_000), workers=3))
    assert not [t for t in threading.enumerate() if t.name.startswith("aefeatures_")]


def test_write_behind_cancel_drops_what_is_queued_and_ends_its_thread() -> None:
    written: list[int] = []
    release = threading.Event()

    def write(item: int) -> None:
        release.wait(5)
        written.append(item)

    writer: WriteBehind[int] = WriteBehind(write, depth=1)
    writer.submit(1)  # being written (waits for release)
    writer.submit(2)  # queued
    threading.Timer(0.1, release.set).start()
    writer.cancel()
    assert written == [1] and not writer._thread.is_alive()
