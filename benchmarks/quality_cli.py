"""What ``benchmarks/imputation.py`` and ``benchmarks/synthetic.py`` share: options, the run loop, output.

Both scripts take ``--tables``, ``--seeds``, ``--max-rows``, ``--threads``, ``--quick``, ``--set``
and ``--json``, run every table on one thread pool with library warnings silenced, print a plain
text table per table with the reasons any method failed, then a summary, and save every record
to JSON when asked.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mixed_tables import Table, cap_rows, load_tables
from threadpoolctl import threadpool_limits

import aefeatures as aef
from aefeatures.cli.options import parse_settings

Records = list[dict[str, Any]]


def parser_for(
    doc: str, tables: list[str], full: dict[str, Any], quick: dict[str, Any]
) -> argparse.ArgumentParser:
    """A parser with the shared options; a script adds its own, then calls :func:`parse`."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "--tables", default=",".join(tables), help="comma-separated, of: " + ", ".join(tables)
    )
    parser.add_argument("--seeds", type=int, help=f"seeds: 0, 1, ...; default {full['seeds']}")
    parser.add_argument("--max-rows", type=int, help=f"rows per table at most; default {full['max_rows']}")
    parser.add_argument("--threads", type=int, default=1, help="threads for every fit")
    quick_text = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in quick.items())
    parser.add_argument("--quick", action="store_true", help=f"a short run: {quick_text}, unless given")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fit setting passed to aefeatures.fit, value read as JSON (e.g. --set goal=features)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every record and the summary to PATH")
    parser.set_defaults(full=full, quick_values=quick, known_tables=tables)
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The options with ``--quick`` or the full defaults filled in, tables as a list, ``--set`` read."""
    args = parser.parse_args(argv)
    for name, value in (args.quick_values if args.quick else args.full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.tables = [n.strip() for n in args.tables.split(",") if n.strip()]
    unknown = [n for n in args.tables if n not in args.known_tables]
    if unknown:
        parser.error(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(args.known_tables)}")
    args.params = parse_settings(args.set, taken={"seed": "--seeds", "threads": "--threads"})
    return args


def aefeatures_lacks(method: str) -> str | None:
    """Why this aefeatures cannot run ``AutoencoderModel.<method>``, or None when it can."""
    if not hasattr(aef.AutoencoderModel, method):
        return f"AutoencoderModel has no {method} method in this version of aefeatures"
    return None


def failure_line(method: str, error: Exception) -> str:
    """How a method that raised is reported: aefeatures as not available, a baseline as failed."""
    state = "not available" if method == "aefeatures" else "failed"
    return f"{method}: {state}: {type(error).__name__}: {error}"


def cell(value: float | None, digits: int = 3) -> str:
    """A number of a printed table; ``-`` for none."""
    return "-" if value is None else f"{value:.{digits}f}"


def table_lines(rows: list[list[str]], header: list[str]) -> list[str]:
    """A plain-text table: a header, a rule and one ``|``-separated line per row."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


RunTable = Callable[[Table, argparse.Namespace], tuple[Records, list[str]]]
Report = Callable[[Table, Records], list[str]]
Summary = Callable[[Records, list[str]], list[str]]


def run(
    args: argparse.Namespace, loaders: dict[str, Any], run_table: RunTable, report: Report, summary: Summary
) -> int:
    """Every table of ``args.tables``: its printed table, then the summary, and the JSON file if asked."""
    tables, skipped = load_tables(args.tables, loaders)
    print(*skipped, f"fit settings: {args.params or 'defaults'}; seeds {args.seeds}", sep="\n")
    records: Records = []
    started = time.perf_counter()
    with threadpool_limits(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and transformer warnings, one per fit
        for table in tables:
            table = replace(table, frame=cap_rows(table.frame, args.max_rows, seed=0))
            found, failures = run_table(table, args)
            records += found
            print("", *report(table, found), *failures, sep="\n")
            print(f"{table.name}: done after {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if not records:
        print("no table to run", file=sys.stderr)
        return 1
    lines = summary(records, [t.name for t in tables])
    print("", *lines, sep="\n")
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k not in ("full", "quick_values", "known_tables")}
        with open(args.json, "w") as out:
            json.dump({"settings": settings, "records": records, "summary": lines}, out, indent=2)
    return 0
