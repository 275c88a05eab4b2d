"""Readable terminal tables for the CLI: pandera failure cases."""

from __future__ import annotations

from typing import Any

from rich.table import Table

CASE_WIDTH = 60  # pandera reports some failures as whole error messages; the first line says enough


def failure_table(failures: list[dict[str, Any]]) -> Table:
    """pandera failure cases (from :func:`aefeatures.schema.schemas.failure_records`) as a table."""
    table = Table(title="schema failures", title_justify="left")
    for name, justify in (
        ("column", "left"),
        ("check", "left"),
        ("failure case", "left"),
        ("row", "right"),
        ("cases", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for f in failures:
        column = "<table>" if f.get("column") is None else str(f["column"])
        row = "" if f.get("index") is None else str(f["index"])
        case = (
            str(f.get("failure_case")).strip().splitlines()[0][:CASE_WIDTH]
            if f.get("failure_case") is not None
            else "null"
        )
        table.add_row(column, str(f.get("check")), case, row, str(f.get("count", "")))
    return table
