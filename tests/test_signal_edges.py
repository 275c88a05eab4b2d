"""Signals at the edges (issue 26, class 10): whatever the moment of a SIGTERM or SIGINT, the exit
code says what happened and one line on stderr says it too.

* before the output is published: 143 (130), the output absent, no temporary left;
* during the publishing rename (signals held) or after it: 0, the output complete and kept;
* between outputs of a command that writes several: 143, the later ones never started;
* before the command started or after it returned (the console script's own edges): 143 with
  nothing written, or the command's own exit code.

The command runs through :func:`aefeatures.cli.app.invoke`, as every CLI command does; the
process-level edges run in a subprocess through :func:`aefeatures.cli.app.run_to_exit`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from aefeatures.cli.app import invoke
from aefeatures.io import sinks
from aefeatures.io.published import more_outputs_follow
from aefeatures.io.sinks import atomic_path
from tests.helpers import subprocess_env


def _stop_self(number: signal.Signals = signal.SIGTERM) -> None:
    os.kill(os.getpid(), number)


def _command(body: object) -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(body)  # type: ignore[arg-type]
    return app


def _write(path: Path, *, stop_inside: bool = False) -> None:
    with atomic_path(path, False, kind="report") as temporary:
        temporary.write_text("<!DOCTYPE html><title>aefeatures model: x</title>")
        if stop_inside:
            _stop_self()


def test_a_signal_while_writing_removes_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"

    def command() -> None:
        _write(out, stop_inside=True)

    assert invoke(_command(command), [], "t") == 143
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert "SIGTERM received; unfinished outputs were removed" in capsys.readouterr().err


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_after_the_output_was_published_finishes_with_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], number: signal.Signals
) -> None:
    out = tmp_path / "r.html"
    printed: list[str] = []

    def command() -> None:
        _write(out)
        _stop_self(number)
        printed.append("the summary")  # the rest of the command runs: its result is printed

    assert invoke(_command(command), [], "t") == 0
    assert out.is_file() and printed == ["the summary"]
    error = capsys.readouterr().err
    assert f"{number.name} received after the output was complete and published" in error
    assert "r.html" in error and len(error.strip().splitlines()) == 1


def test_a_signal_during_the_publishing_rename_finishes_with_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signal lands while the renames hold signals back: it is delivered once the output is
    published, so the output is complete and the exit code 0."""
    publish = sinks._publish

    def publish_and_stop(*args: object) -> None:
        _stop_self()
        publish(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sinks, "_publish", publish_and_stop)
    out = tmp_path / "r.html"
    assert invoke(_command(lambda: _write(out)), [], "t") == 0
    assert out.is_file() and "received after the output was complete" in capsys.readouterr().err


def test_a_signal_between_two_outputs_stops_before_the_second(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a.html", tmp_path / "b.html"

    def command() -> None:
        _write(first)
        _stop_self()  # held: the first output is complete
        _write(second)  # ...but a second output starts: the held signal stops the command here

    assert invoke(_command(command), [], "t") == 143
    assert first.is_file() and not second.exists()
    error = capsys.readouterr().err
    assert "unfinished outputs were removed" in error and "a.html" in error and "complete and kept" in error


def test_more_outputs_follow_lets_a_signal_act_at_once(tmp_path: Path) -> None:
    reached: list[str] = []

    def command() -> None:
        _write(tmp_path / "a.html")
        more_outputs_follow()  # what the demo says after its data: its model is still to come
        _stop_self()
        reached.append("fit")  # a long step between outputs is not waited for

    assert invoke(_command(command), [], "t") == 143 and reached == []


def test_a_checkpoint_is_not_the_output(tmp_path: Path) -> None:
    """A fit publishes checkpoints as it trains: a signal after one still stops the fit."""
    reached: list[str] = []

    def command() -> None:
        with atomic_path(tmp_path / "ck", True, kind="checkpoint") as temporary:
            temporary.mkdir()
        _stop_self()
        reached.append("training")

    assert invoke(_command(command), [], "t") == 143 and reached == []


_SCRIPT = """
import atexit, os, signal, sys, time
from aefeatures.cli.app import run_to_exit

def main():
    if sys.argv[1] == "before":
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    else:  # registered after run_to_exit's own, so it runs first at exit: the process is ending
        atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))
    return int(sys.argv[2])

run_to_exit(main)
"""


@pytest.mark.parametrize(
    ("moment", "code", "expected", "says"),
    [
        ("before", "0", 143, "received before the command started; nothing was written"),
        ("after", "0", 0, "received after the command finished; its outputs are complete"),
        ("after", "1", 1, "received after the command finished"),
    ],
)
def test_the_console_scripts_edges_exit_with_a_code_and_one_line(
    tmp_path: Path, moment: str, code: str, expected: int, says: str
) -> None:
    script = tmp_path / "edge.py"
    script.write_text(_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), moment, code],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == expected, done.stderr
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1
