"""The Typer application, its output helpers, and the one place errors become exit codes."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.text import Text
from typer.rich_utils import rich_format_error

from aefeatures.errors import MAX_MESSAGE, AEFeaturesError, Interrupted, shorten
from aefeatures.io import published

app = typer.Typer(
    name="aefeatures",
    help="Autoencoder features for tabular Parquet data: fit, then append embeddings and reconstruction errors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
schema_app = typer.Typer(help="Write and check pandera schema files.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")

err = Console(stderr=True, highlight=False)
log = logging.getLogger("aefeatures")


def emit(result: dict[str, Any], as_json: bool, text: str) -> None:
    """Print ``result`` as JSON, or ``text`` for a person, on stdout."""
    typer.echo(json.dumps(result, default=str, indent=1) if as_json else printable(text))


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # every control character but tab and newline


def printable(text: str) -> str:
    """``text`` safe to print: bytes of a non-UTF-8 file name (lone surrogates) as ``\\xe9``
    escapes, and control characters (a terminal's escape sequences, from a column or file name)
    as ``\\x1b`` escapes.

    >>> printable("column '\\x1b]0;PWNED\\x07' and caf\\udce9")
    "column '\\\\x1b]0;PWNED\\\\x07' and caf\\\\xe9"
    """
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


class PrintableFormatter(logging.Formatter):
    """Log lines with :func:`printable` text: a name in a warning cannot drive the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def setup_logging(quiet: bool) -> None:
    """Log to stderr; only errors when ``quiet``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter("aefeatures: %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.ERROR if quiet else logging.INFO)


def main(argv: Optional[list[str]] = None) -> int:
    """Run the CLI and return its exit code."""
    return invoke(app, argv, "aefeatures")


def invoke(command: typer.Typer, argv: Optional[list[str]], prog_name: str) -> int:
    """Run a Typer app (the CLI, or a job entry point of :mod:`aefeatures.cli.jobs`); map
    exceptions to exit codes in this one place: 0 ok, 1 an aefeatures error, 2 a usage error,
    130 interrupted (SIGINT, Ctrl-C), 143 terminated (SIGTERM)."""
    args = sys.argv[1:] if argv is None else list(argv)
    undecodable = next((arg for arg in args if _undecodable(arg)), None)
    if undecodable is not None:
        err.print(
            Text.assemble(
                ("error: ", "bold red"),
                f"the argument '{printable(undecodable)}' is not valid UTF-8 text (a file name in another "
                "encoding?); aefeatures and the Parquet libraries it uses read UTF-8 paths and names only.\n"
                "Hint: rename the file to a UTF-8 name, e.g. convmv -f latin1 -t utf-8 --notest FILE",
            ),
            soft_wrap=True,
        )
        return 2
    as_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
    empty = _empty_path_option(args)
    if empty is not None:
        message = f"{empty} is empty (''): it names a path, and an empty one would be read as the current directory."
        hint = f"give a path to {empty}, e.g. {empty} ./name (or leave {empty} out for its default)"
        err.print(Text.assemble(("error: ", "bold red"), f"{message}\nHint: {hint}"), soft_wrap=True)
        return _failed(as_json, message, hint, 2)
    published.begin_command()
    try:
        with _signals_raise():
            code = command(args=args, prog_name=prog_name, standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except typer.TyperException as exc:  # a usage error (click's, vendored by Typer): exit 2
        rich_format_error(exc)  # type: ignore[arg-type]  # Typer's own click exceptions subclass it
        context = getattr(exc, "ctx", None)
        path = context.command_path if context is not None else prog_name
        return _failed(as_json, exc.format_message(), f"see {path} --help", exc.exit_code)
    except typer.Abort:
        err.print("Aborted.")
        return _failed(as_json, "aborted", "", 1)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        kept = published.published_outputs()
        checkpoint = published.written_checkpoint()
        resume = (
            f"the checkpoint {str(checkpoint)!r} is kept: add --resume to the same command to continue"
            if checkpoint is not None and checkpoint.exists()
            else ""
        )
        err.print(
            Text.assemble(
                ("stopped: ", "bold red"),
                f"{name} received; unfinished outputs were removed"
                + (f" ({_listed(kept)}, written before, complete and kept)" if kept else "")
                + (f" ({resume})." if resume else "."),
            ),
            soft_wrap=True,
        )
        return _failed(as_json, f"{name} received", resume, 128 + exc.signum)
    except AEFeaturesError as exc:
        if debugging():
            raise
        err.print(Text.assemble(("error: ", "bold red"), printable(str(exc))), soft_wrap=True)
        return _failed(as_json, str(exc.args[0]) if exc.args else "", exc.hint, 1, exc.details)
    except Exception as exc:  # an unexpected failure still gets a one-line message and exit 1
        if debugging():
            raise
        text = shorten(f"{type(exc).__name__}: {exc}", MAX_MESSAGE)
        err.print(Text.assemble(("internal error: ", "bold red"), printable(text)), soft_wrap=True)
        hint = "set AEFEATURES_DEBUG=1 to see the traceback, and please report it"
        err.print(hint)
        return _failed(as_json, f"internal error: {text}", hint, 1)
    held = published.held_stop()
    if held is not None:
        err.print(
            Text.assemble(
                ("stopped: ", "bold red"),
                f"{signal.Signals(held).name} received after the output was complete and published "
                f"({_listed(published.published_outputs())}); it was kept and the command finished.",
            ),
            soft_wrap=True,
        )
    return code


def _listed(paths: list[Path]) -> str:
    return printable(
        ", ".join(shorten(repr(str(p))) for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
    )


def run_to_exit(main: Callable[[], int]) -> NoReturn:
    """Run ``main`` (a command line) and exit with its code, whenever a stop signal comes.

    Before ``main`` takes over the signals, SIGINT or SIGTERM end the process with 128 + the
    signal and one line: nothing was written yet. After it returned, they end it with its exit
    code and one line: its outputs are complete. Blocked for the interpreter's last steps (a
    signal then is dropped with the process, which exits with ``main``'s code).
    """
    finished: list[int] = []

    def stop(signum: int, frame: Optional[FrameType]) -> None:
        name = signal.Signals(signum).name
        done = bool(finished or published.published_outputs())  # returning, its output published
        line = (
            f"stopped: {name} received after the command finished; its outputs are complete.\n"
            if done
            else f"stopped: {name} received before the command started; nothing was written.\n"
        )
        with contextlib.suppress(OSError):
            os.write(2, line.encode())
        os._exit(finished[0] if finished else 0 if done else 128 + signum)

    atexit.register(_block_stop_signals)  # registered first, so it runs last
    if threading.current_thread() is threading.main_thread():
        for number in STOP_SIGNALS:
            signal.signal(number, stop)
    finished.append(main())
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    sys.exit(finished[0])


def _block_stop_signals() -> None:
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def _failed(
    as_json: bool, error: str, hint: str, exit_code: int, details: dict[str, Any] | None = None
) -> int:
    """With ``--json``, the failure as one JSON object on stdout (the message is on stderr too)."""
    if as_json:
        result = {
            **(details or {}),
            "error": printable(error),
            "hint": printable(hint),
            "exit_code": exit_code,
        }
        typer.echo(json.dumps(result, default=str, indent=1))
    return exit_code


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PATH_OPTIONS = (
    "--output",
    "-o",
    "--model",
    "-m",
    "--dir",
    "--keep-best",
    "--schema",
    "--checkpoint",
    "--onnx",
)
"""Options whose value is a path: an empty value is refused, not read as ``.`` (``Path('')``)."""


def _empty_path_option(args: list[str]) -> Optional[str]:
    """The first path option given an empty value (``--output ''`` or ``--output=``), if any."""
    for i, arg in enumerate(args):
        if arg == "--":
            return None
        name, equals, value = arg.partition("=")
        if name in PATH_OPTIONS and (
            value.strip() == "" if equals else i + 1 < len(args) and args[i + 1].strip() == ""
        ):
            return name
    return None


def debugging() -> bool:
    """``AEFEATURES_DEBUG`` is set to something other than empty, 0, false, no or off."""
    return os.environ.get("AEFEATURES_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM raise :class:`Interrupted` in the main thread.

    The exception unwinds the command like Ctrl-C would, so every ``finally`` runs: the
    temporaries of unfinished outputs are removed, worker threads are stopped. A second signal
    during that clean-up takes the default action at once (the process ends; a hidden
    temporary may be left). Outside the main thread signals cannot be handled: nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}

    def stop(signum: int, frame: Optional[FrameType]) -> None:
        if published.hold_stop(signum):  # the output is complete and published: finish, exit 0
            return
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_DFL)
        raise Interrupted(signum)

    for number in STOP_SIGNALS:
        signal.signal(number, stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


def _undecodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def run() -> None:
    """Console-script entry point."""
    run_to_exit(main)
