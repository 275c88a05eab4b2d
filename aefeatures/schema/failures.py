"""What a schema failure says: each failing column with why and examples, and the fix.

Examples
--------
>>> print(describe_failures([{"column": "x", "check": "not_nullable", "failure_case": None, "count": 2}]))
the data does not match the schema:
  - column 'x': has null values but the schema says it cannot (2 values, e.g. None)
"""

from __future__ import annotations

from typing import Any


def describe_failures(failures: list[dict[str, Any]]) -> str:
    lines = ["the data does not match the schema:"]
    seen: set[tuple[Any, Any]] = set()
    for f in failures:
        key = (f["column"], f["check"])
        if key in seen:
            continue
        seen.add(key)
        column = f["column"] if f["column"] is not None else "<table>"
        examples = [str(g["failure_case"]) for g in failures if (g["column"], g["check"]) == key]
        explained = f.get("reason") or _explain(str(f["check"]))
        cases = (
            ""
            if f["check"] == "column_in_dataframe"
            else f" ({_values(f['count'])}, e.g. {', '.join(examples[:3])})"
        )
        lines.append(f"  - column {column!r}: {explained}{cases}")
    return "\n".join(lines)


def _values(count: int) -> str:
    return "1 value" if count == 1 else f"{count} values"


def _explain(check: str) -> str:
    if check == "column_in_dataframe":
        return "missing from the data"
    if check == "not_nullable":
        return "has null values but the schema says it cannot"
    if check.startswith("dtype("):
        return f"has the wrong type, expected {check[6:-1]}"
    if check.startswith("coerce_dtype"):
        return "has values that cannot be converted to the schema's type"
    return f"fails check {check}"


def failures_hint(failures: list[dict[str, Any]]) -> str:
    checks = {str(f["check"]) for f in failures}
    if "column_in_dataframe" in checks:
        return "add the missing columns (a model's: or re-fit it without them, --exclude)"
    if "not_nullable" in checks:
        return "fill or drop the null values, or re-fit on data that has them so the model learns missingness"
    if any(check.startswith("exact_coerce(") for check in checks):
        return (
            "nothing is converted when a value would change: convert the column yourself if that is "
            "what you mean (round it, parse it with str.to_datetime, map it to 0/1), or use a schema "
            "(and re-fit) with the column's real type"
        )
    return "fix the listed columns, or re-fit the model on data of this shape"
