"""The Typer application, its output helpers, and the one place errors become exit codes."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any, Optional

import typer
from rich.console import Console
from rich.text import Text

from aefeatures.errors import AEFeaturesError

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
    typer.echo(json.dumps(result, default=str, indent=1) if as_json else text)


def setup_logging(quiet: bool) -> None:
    """Log to stderr; only errors when ``quiet``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("aefeatures: %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.ERROR if quiet else logging.INFO)


def main(argv: Optional[list[str]] = None) -> int:
    """Run the CLI and return its exit code."""
    return invoke(app, argv, "aefeatures")


def invoke(command: typer.Typer, argv: Optional[list[str]], prog_name: str) -> int:
    """Run a Typer app (the CLI, or a job entry point of :mod:`aefeatures.cli.jobs`); map
    exceptions to exit codes in this one place: 0 ok, 1 an aefeatures error, 2 a usage error."""
    try:
        command(args=argv, prog_name=prog_name)  # usage errors exit 2 inside, via SystemExit
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except AEFeaturesError as exc:
        if os.environ.get("AEFEATURES_DEBUG"):
            raise
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        return 1
    except Exception as exc:  # an unexpected failure still gets a one-line message and exit 1
        if os.environ.get("AEFEATURES_DEBUG"):
            raise
        err.print(
            Text.assemble(("internal error: ", "bold red"), f"{type(exc).__name__}: {exc}"), soft_wrap=True
        )
        err.print("set AEFEATURES_DEBUG=1 to see the traceback, and please report it")
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
