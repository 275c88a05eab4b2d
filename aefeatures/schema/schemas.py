"""pandera schemas: inferred at fit, read from files, enforced at every transform.

An inferred schema enforces column names, dtypes (with safe coercion) and nullability only:
value ranges and category sets are drift signals, not failures (see :mod:`aefeatures.schema.drift`).

Coercion is exact or refused: :func:`validate` asks :mod:`aefeatures.schema.coercion` first, before
pandera or the fast path casts anything, and a value that would change fails validation with its
column, both types and the value named.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl
import yaml
from pandera.errors import SchemaError, SchemaErrors
from pandera.io.polars_io import deserialize_schema, serialize_schema

from aefeatures.errors import DataError, SchemaValidationError, shorten
from aefeatures.schema.coercion import inexact_coercions
from aefeatures.schema.failures import describe_failures, failures_hint

MAX_EXAMPLES = 5
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader, else PyYAML's
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def infer_schema(frame: pl.DataFrame, columns: list[str] | None = None) -> pa.DataFrameSchema:
    """Schema of ``columns`` of ``frame``: dtypes, coercing, not strict, every column nullable.

    What was seen is recorded, not made a rule: a column without missing values says so in its
    description, yet accepts them (a null at transform is filled for scoring and reported as
    drift). A user who wants nulls refused writes ``nullable: false`` in their own schema.

    Examples
    --------
    >>> schema = infer_schema(pl.DataFrame({"x": [1.0, 2.0], "y": [None, 1]}))
    >>> schema.columns["x"].nullable, schema.columns["x"].description
    (True, 'no missing values at fit')
    >>> schema.columns["y"].description
    'missing values at fit'
    """
    names = columns if columns is not None else frame.columns
    types = frame.schema  # once: polars builds the schema anew on each call (quadratic per column)
    return pa.DataFrameSchema(
        {
            name: pa.Column(
                schema_dtype(types[name]),
                nullable=True,
                description="missing values at fit"
                if _has_missing(frame[name])
                else "no missing values at fit",
            )
            for name in names
        },
        coerce=True,
        strict=False,
        name="aefeatures_inferred",
    )


def schema_dtype(dtype: pl.DataType) -> pl.DataType:
    """The dtype a schema inferred from a column of ``dtype`` declares."""
    # An Enum dtype would reject every unseen category; unseen levels are drift, not errors.
    if isinstance(dtype, pl.Enum):
        return pl.Categorical()
    # pandera has no Float16; every half-precision value is exact in Float32, which it has.
    return pl.Float32() if dtype == pl.Float16 else dtype


def _has_missing(series: pl.Series) -> bool:
    return bool(series.null_count() > 0 or (series.dtype.is_float() and series.is_nan().any()))


def schema_to_yaml(schema: pa.DataFrameSchema) -> str:
    """YAML text of a schema, for the model directory and for review (pandera's format, written
    by libyaml when PyYAML has it: 10,000 columns take seconds instead of a minute)."""
    return str(yaml.dump(serialize_schema(schema, minimal=True), Dumper=_Dumper, sort_keys=False))


MAX_SCHEMA_BYTES = 64 << 20
"""The largest schema file read (a model's ``schema.yaml``, ``--schema``); fit writes no larger one."""


def schema_from_yaml(text: str) -> pa.DataFrameSchema:
    """Schema from YAML text written by :func:`schema_to_yaml` or by hand (safe loading only).

    YAML aliases (``*name``), which :func:`schema_to_yaml` never writes, are refused before
    parsing: a few lines of them expand to gigabytes (a "YAML bomb").
    """
    if "*" in text and any(isinstance(token, yaml.AliasToken) for token in yaml.scan(text)):
        raise ValueError("it uses YAML aliases (*name), which a schema file does not need")
    return deserialize_schema(yaml.load(text, Loader=_Loader))  # noqa: S506 - a safe loader


def load_schema_file(spec: str | Path) -> pa.DataFrameSchema:
    """Schema from a YAML/JSON file or a ``DataFrameModel`` in a Python file (``file.py[:Class]``)."""
    path_text, _, class_name = str(spec).partition(".py:")
    path = Path(path_text + ".py") if class_name else Path(spec)
    if not path.is_file():
        raise DataError(
            f"schema file {str(path)!r} does not exist.", hint="pass a YAML file or schemas/NAME.py"
        )
    if path.stat().st_size > MAX_SCHEMA_BYTES:
        raise DataError(
            f"schema file {shorten(repr(str(path)))} is larger than {MAX_SCHEMA_BYTES >> 20} MiB.",
            hint="a schema lists each column once: check that this is the schema file you meant",
        )
    if path.suffix in (".yaml", ".yml"):
        schema = _parse(lambda: schema_from_yaml(path.read_text()), path)
    elif path.suffix == ".json":
        schema = _parse(lambda: pa.DataFrameSchema.from_json(path.read_text()), path)
    elif path.suffix == ".py":
        schema = _model_from_python(path, class_name or None).to_schema()
    else:
        raise DataError(f"schema file {str(path)!r} is not .yaml, .yml, .json or .py.")
    if not isinstance(schema, pa.DataFrameSchema) or not schema.columns:
        raise DataError(
            f"schema file {str(spec)!r} defines no columns: a model or a check built on it would validate nothing.",
            hint="list the columns under 'columns:' (aefeatures schema infer DATA -o FILE writes every "
            "column of your data), or leave --schema out to infer the schema",
        )
    return schema


def uncovered_columns(schema: pa.DataFrameSchema, columns: Sequence[str]) -> list[str]:
    """The ``columns`` that ``schema`` has no column for, by name or by a regex column."""
    patterns = [re.compile(str(name)) for name, column in schema.columns.items() if column.regex]
    return [
        name
        for name in columns
        if name not in schema.columns and not any(p.fullmatch(name) for p in patterns)
    ]


def with_columns_of(schema: pa.DataFrameSchema, other: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """``schema`` with the columns of ``other`` added, each coercing as an inferred column does."""
    added = {name: column.set_name(name) for name, column in other.columns.items()}
    for column in added.values():
        column.coerce = True
    return schema.add_columns(added)


def _parse(read: Any, path: Path) -> pa.DataFrameSchema:
    try:
        return read()
    except Exception as exc:  # pandera raises many types for bad files
        raise DataError(
            f"schema file {shorten(repr(str(path)))} cannot be read: {shorten(str(exc))}",
            hint="check the YAML against pandera's format",
        ) from exc


def _model_from_python(path: Path, class_name: str | None) -> type[pa.DataFrameModel]:
    spec = importlib.util.spec_from_file_location(f"aefeatures_user_schema_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise DataError(f"schema file {str(path)!r} cannot be imported.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = (
        module  # pandera resolves string annotations (`from __future__ import annotations`) here
    )
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise DataError(
            f"schema file {str(path)!r} has a syntax error at line {exc.lineno}: {exc.msg}.",
            hint="fix the Python file; it must define a pandera DataFrameModel",
        ) from exc
    except ImportError as exc:
        raise DataError(
            f"schema file {str(path)!r} imports {exc.name or 'a module'!r}, which is not installed: {exc}.",
            hint="install that package, or remove the import from the schema file",
        ) from exc
    except Exception as exc:  # the user's module raised while it was being run
        raise DataError(
            f"schema file {str(path)!r} failed while it was run: {type(exc).__name__}: {exc}.",
            hint="run the file with python to see the error; it must define a pandera DataFrameModel",
        ) from exc
    models = {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj)
        and issubclass(obj, pa.DataFrameModel)
        and obj is not pa.DataFrameModel
        and obj.__module__ == module.__name__
    }
    if class_name:
        if class_name not in models:
            raise DataError(
                f"{str(path)!r} has no DataFrameModel named {class_name!r}; it has {sorted(models)}."
            )
        return models[class_name]
    if len(models) != 1:
        raise DataError(
            f"{str(path)!r} defines {len(models)} DataFrameModel classes: {sorted(models)}.",
            hint=f"name one: --schema {path}:ClassName",
        )
    return next(iter(models.values()))


def validate(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """Validate with every failure collected; return the coerced frame.

    A schema of types and nullability only (what fit infers) is checked first in one polars
    pass; pandera runs when the schema has more, or to report what the fast pass found.
    Missing columns are found first and the rest is validated without them: pandera's
    coercion otherwise stops at the first missing column instead of listing every failure.
    """
    inexact = inexact_coercions(frame, schema)
    if inexact:  # those columns are reported as they are; the others are still checked
        schema = schema.remove_columns([f["column"] for f in inexact])
    else:
        checked = _validate_types_and_nulls(frame, schema)
        if checked is not None:
            return checked
    present = set(frame.columns)
    missing = [  # a regex column names a pattern, not a column: pandera checks it matches
        name
        for name, column in schema.columns.items()
        if column.required and not column.regex and name not in present
    ]
    failures = [*inexact, *(_missing_record(name) for name in missing)]
    try:
        validated = (schema.remove_columns(missing) if missing else schema).validate(frame, lazy=True)
    except SchemaErrors as exc:
        failures += _per_column_coercion(frame, schema, failure_records(exc.failure_cases))
    except SchemaError as exc:
        failures.append(
            {
                "column": exc.column_name,
                "check": str(exc.check),
                "failure_case": str(exc),
                "index": None,
                "count": 1,
            }
        )
    if failures:
        raise SchemaValidationError(
            describe_failures(failures), failures=failures, hint=failures_hint(failures)
        )
    return validated


def _validate_types_and_nulls(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame | None:
    """The coerced frame when a types-and-nullability schema passes; ``None`` when pandera must look.

    Same rules as pandera's: strict casts to the schema's dtypes, and no null (or NaN in a
    float column) where the column is not nullable. Four times faster than pandera's
    column-by-column checks, which matters when every batch of a large file is validated.
    """
    columns, present = schema.columns, set(frame.columns)
    if not _types_and_nulls_only(schema) or any(name not in present for name in columns):
        return None
    try:
        coerced = frame.with_columns(
            pl.col(name).cast(column.dtype.type, strict=True) for name, column in columns.items()
        )
    except pl.exceptions.PolarsError:
        return None
    required = [name for name, column in columns.items() if not column.nullable]
    types = coerced.schema
    empty = [
        pl.col(n).is_null() | pl.col(n).is_nan() if types[n].is_float() else pl.col(n).is_null()
        for n in required
    ]
    if required and any(coerced.select(pl.any_horizontal(e.any() for e in empty)).row(0)):
        return None
    return coerced


def _types_and_nulls_only(schema: pa.DataFrameSchema) -> bool:
    table_rules = schema.checks or schema.parsers or schema.strict or schema.ordered or schema.unique
    if table_rules or not schema.coerce or schema.add_missing_columns:
        return False
    return all(
        not (column.checks or column.parsers or column.regex or column.unique) and column.dtype is not None
        for column in schema.columns.values()
    )


def _per_column_coercion(
    frame: pl.DataFrame, schema: pa.DataFrameSchema, failures: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Replace pandera's table-level coercion failure (named after the schema) by one record per
    column whose values cannot be converted. pandera then also reports every column still of
    another type as of the wrong type: those records go (a column whose values all convert is
    fine, one whose values do not has its own record)."""
    table_level = [f for f in failures if str(f["check"]).startswith("coerce_dtype('{")]
    if not table_level:
        return failures
    kept, present = [f for f in failures if f not in table_level], set(frame.columns)
    checked = set()
    for name, column in schema.columns.items():
        if name not in present or column.dtype is None:
            continue
        checked.add(name)
        values = frame[name]
        try:
            converted = values.cast(column.dtype.type, strict=False)
        except Exception:  # polars refuses some conversions outright (e.g. string to datetime)
            converted = pl.Series(name, [None] * len(values), dtype=column.dtype.type)
        bad = (converted.is_null() & values.is_not_null()).arg_true()
        if len(bad):
            first = int(bad[0])
            kept.append(
                {
                    "column": name,
                    "check": f"coerce_dtype('{column.dtype}')",
                    "failure_case": values[first],
                    "index": first,
                    "count": len(bad),
                }
            )
    return [f for f in kept if not (str(f["check"]).startswith("dtype(") and f["column"] in checked)]


def _missing_record(name: str) -> dict[str, Any]:
    return {"column": name, "check": "column_in_dataframe", "failure_case": name, "index": None, "count": 1}


def failure_records(cases: pl.DataFrame | Any) -> list[dict[str, Any]]:
    """pandera failure cases as plain records, at most a few examples per column and check."""
    frame = cases if isinstance(cases, pl.DataFrame) else pl.from_pandas(cases)
    records: list[dict[str, Any]] = []
    counts: dict[tuple[Any, Any], int] = {}
    for row in frame.iter_rows(named=True):
        if row.get("column") is None and row.get("check") == "column_in_dataframe":
            row["column"] = row.get("failure_case")
        key = (row.get("column"), row.get("check"))
        counts[key] = counts.get(key, 0) + 1
        if counts[key] <= MAX_EXAMPLES:
            records.append({k: row.get(k) for k in ("column", "check", "failure_case", "index")})
    for record in records:
        record["count"] = counts[(record["column"], record["check"])]
    return records


def check_lazy_schema(schema: pl.Schema, expected: pa.DataFrameSchema) -> None:
    """Schema-level check of a LazyFrame without collecting: required columns are present."""
    missing = [
        name
        for name, column in expected.columns.items()
        if column.required and not column.regex and name not in schema
    ]
    if missing:
        failures = [_missing_record(name) for name in missing]
        raise SchemaValidationError(
            describe_failures(failures), failures=failures, hint=failures_hint(failures)
        )
