"""Options shared by several commands, defined once, and the parsers of their text values."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from aefeatures.defaults import (
    check_batch_rows,
    check_compression,
    check_level,
    check_on_drift,
    check_tolerance,
)
from aefeatures.errors import ConfigError, DataError
from aefeatures.goals import GOALS
from aefeatures.settings import SETTINGS, declared
from aefeatures.settings.sections import MAX_THREADS


def shown(value: Any) -> str:
    """A setting's value as the command line writes it: ``none``, ``true``, ``64,32``, ``0.001``."""
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def default_text(name: str) -> str:
    """What setting ``name`` is when no option or goal gives it, and what each goal makes it.

    Examples
    --------
    >>> default_text("kind")
    'denoising; deep with --goal reconstruction'
    >>> default_text("latent_dim")
    "from the data's width; 16 with --goal imputation"
    """
    setting = declared(name)
    text = setting.none_means if setting.default is None and setting.none_means else shown(setting.default)
    by_goal = [  # the goals that change it
        f"{shown(values[name])} with --goal {goal}"
        for goal, values in GOALS.items()
        if name in values and values[name] != setting.default
    ]
    return "; ".join([text, *by_goal])


def setting_option(
    name: str,
    *decls: str,
    help: Optional[str] = None,
    default: Optional[str] = None,
    after: str = "",
    **kwargs: Any,
) -> Any:
    """A ``typer.Option`` for fit setting ``name``, its help and default from the declaration.

    ``help`` replaces the declared help (and list of choices), ``default`` the declared default's
    text (a command that decides it otherwise), ``after`` follows the default; other keywords go
    to ``typer.Option``.
    """
    setting = declared(name)
    choices = f": {_either(setting.choices)}" if setting.choices else ""
    text = f"{help or setting.help + choices} \\[default: {default or default_text(name)}]."
    return typer.Option(*decls, help=f"{text} {after}".strip(), show_default=False, **kwargs)


def _either(names: Sequence[str]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else "".join(names)


Data = Annotated[
    str, typer.Argument(help="Parquet file, directory of Parquet files (hive partitions kept) or glob.")
]
ModelDir = Annotated[Path, typer.Option("--model", "-m", help="Model directory.")]
Json = Annotated[bool, typer.Option("--json", help="Print a machine-readable result on stdout.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")]
Columns = Annotated[
    Optional[list[str]],
    setting_option(
        "columns", "--columns", "-c", help=declared("columns").help + " (repeat or comma-separate)"
    ),
]
Exclude = Annotated[
    Optional[list[str]],
    setting_option(
        "exclude", "--exclude", "-x", help=declared("exclude").help + " (repeat or comma-separate)"
    ),
]
Device = Annotated[str, setting_option("device", "--device")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")]
Threads = Annotated[Optional[int], setting_option("threads", min=1, max=MAX_THREADS)]
GOAL_HELP = (
    declared("goal").help
    + ": "
    + _either(
        [
            f"{name} ({goal.purpose}: {', '.join(f'{k}={shown(v)}' for k, v in goal.items()) or 'the defaults'})"
            for name, goal in GOALS.items()
        ]
    )
    + "; options given explicitly win"
)
Setting = Annotated[
    Optional[list[str]],
    typer.Option(
        "--set",
        help="Any other fit setting as NAME=VALUE, e.g. --set noise=masking --set noise_level=0.2 (repeatable).",
    ),
]


def parse_names(values: Optional[list[str]], *, option: Optional[str] = None) -> Optional[tuple[str, ...]]:
    """Names from repeated and/or comma-separated option values.

    With ``option`` (``--columns``), values that name nothing (``--columns ''``) are a usage error
    rather than "no choice made", which would mean every column.
    """
    if not values:
        return None
    names = tuple(name.strip() for value in values for name in value.split(",") if name.strip())
    if option is not None and not names:
        raise typer.BadParameter(
            f"{', '.join(map(repr, values))} names no column; give NAME[,NAME...] or leave {option} out",
            param_hint=option,
        )
    return names


def parse_settings(values: Optional[list[str]], taken: Mapping[str, str]) -> dict[str, Any]:
    """``--set NAME=VALUE`` pairs as fit parameters; a value is JSON where it parses (0.2, 3, true).

    ``taken`` maps the fit settings the command gives by other means to the option that does.
    """
    known = {setting.name for setting in SETTINGS}
    settings: dict[str, Any] = {}
    for item in values or ():
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1) if sep else []
            guess = f" (did you mean {close[0]}?)" if close else ""
            raise typer.BadParameter(
                f"{item!r} is not NAME=VALUE with NAME one of {', '.join(sorted(known))}{guess}",
                param_hint="--set",
            )
        if name in taken:
            raise typer.BadParameter(f"{name} has its own option: use {taken[name]}", param_hint="--set")
        try:
            settings[name] = json.loads(text)
        except json.JSONDecodeError:
            settings[name] = text
    return settings


def fit_params(
    settings: Optional[list[str]],
    *,
    columns: Optional[list[str]] = None,
    exclude: Optional[list[str]] = None,
    reserved: Optional[Mapping[str, str]] = None,
    context: Optional[typer.Context] = None,
    **options: Any,
) -> dict[str, Any]:
    """The :class:`~aefeatures.config.FitConfig` parameters of a command: every command that fits
    (``fit``, ``compare``, the distributed job) maps its options to settings here.

    ``options`` are the fit settings the command has options for (``--name-with-dashes``;
    ``--set`` may not give them too), ``columns`` and ``exclude`` the raw name options,
    ``reserved`` the settings the command decides itself, each with the option that does it.
    With the command's ``context``, only the options given on the command line are settings
    given, so a goal's settings apply to the others. Values are not checked here:
    ``FitConfig`` checks them, once, for the CLI and the API.
    """
    params = {
        **options,
        "columns": parse_names(columns, option="--columns"),
        "exclude": parse_names(exclude) or (),
    }
    taken = {name: f"--{name.replace('_', '-')}" for name in params} | dict(reserved or {})
    if context is not None:
        params = {name: value for name, value in params.items() if _given(context, name)}
    return {**params, **parse_settings(settings, taken)}


def _given(context: typer.Context, name: str) -> bool:
    """Whether option ``name`` was given (on the command line, or by an environment variable)."""
    source = context.get_parameter_source(name)  # by name: Typer may bring its own copy of click
    return source is not None and source.name != "DEFAULT"


def usage_check(check: Callable[[Any], object]) -> Callable[[typer.CallbackParam, Any], Any]:
    """An option callback that runs the library's own check of the value (the API runs it too).

    Its :class:`ConfigError` becomes a usage error (exit 2), raised before the command starts,
    with the error's hint: ``Invalid value for '--on-drift': 'maybe' is not one of ignore, warn,
    fail.``
    """

    def callback(param: typer.CallbackParam, value: Any) -> Any:
        try:
            check(value)
        except ConfigError as exc:  # "on_drift='maybe' is ...": click names the option already
            message = str(exc.args[0]).removeprefix(f"{param.name}=")
            raise typer.BadParameter(f"{message} Hint: {exc.hint}" if exc.hint else message) from None
        return value

    return callback


def parse_ints(text: Optional[str], option: str, *, none: bool = False) -> Optional[tuple[int, ...]]:
    """Integers from a comma-separated option value, e.g. ``64,32``.

    An empty value or an empty item (``''``, ``64,,32``) is refused rather than read as fewer
    numbers; with ``none``, the explicit spelling ``none`` gives ``()`` (``--hidden none``: no
    hidden layer).
    """
    if text is None:
        return None
    spelled = "'none' for no hidden layer, or " if none else ""
    if none and text.strip().lower() == "none":
        return ()
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or not all(parts):
        raise typer.BadParameter(
            f"{text!r} has an empty item; give {spelled}comma-separated integers, e.g. 64,32",
            param_hint=option,
        )
    try:
        return tuple(int(part) for part in parts)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of integers; give {spelled}e.g. 64,32", param_hint=option
        ) from None


def file_output(text: str, option: str) -> Path:
    """The path of an output that is one file: a trailing ``/`` (a directory) is refused.

    ``Path("out/")`` drops the slash, and the command would write a file named ``out``.
    """
    if text.endswith(("/", os.sep)):
        raise typer.BadParameter(
            f"{text!r} ends in '/', which names a directory, but this output is one file; "
            f"give the file's name, e.g. {Path(text) / 'NAME'}",
            param_hint=option,
        )
    return Path(text)


def default_model_dir(data: str) -> Path:
    """``models/<data name>``: the default model location, its ``models`` directory checked.

    ``models`` is created by the caller only once nothing else can fail (see ``fit``); a file
    or a broken link in its place is refused here, before any work.
    """
    from aefeatures.io.sources import source_name

    parent = Path("models")
    if os.path.lexists(parent) and not parent.is_dir():
        what = "a broken symbolic link" if parent.is_symlink() else "a file"
        raise DataError(
            f"the default model location {str(parent / source_name(data))!r} cannot be used: "
            f"{str(parent)!r} in the current directory is {what}, not a directory.",
            hint="pass --model DIR to write the model elsewhere, or move 'models' out of the way",
        )
    return parent / source_name(data)


# Options of the commands that stream Parquet batches (transform, impute), declared once.
StreamOutput = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        help="Output Parquet file, or directory for a directory DATA (hive layout kept; "
        "a trailing / asks for the directory).",
    ),
]
OnDrift = Annotated[
    str,
    typer.Option(
        "--on-drift",
        callback=usage_check(check_on_drift),
        help="warn, fail (exit 1, nothing written) or ignore when columns drift from training.",
    ),
]
DriftTolerance = Annotated[
    float,
    typer.Option(
        callback=usage_check(check_tolerance),
        help="Smallest drift that counts: a rate moved by this share, or a PSI this large.",
    ),
]
DriftLevel = Annotated[
    float,
    typer.Option(
        callback=usage_check(check_level),
        help="Chance that data without drift is flagged (all columns together), e.g. 0.01.",
    ),
]
BatchRows = Annotated[
    int,
    typer.Option(
        callback=usage_check(check_batch_rows),
        help="Rows per batch; about threads + 2 batches are in memory at once.",
    ),
]
Compression = Annotated[
    str,
    typer.Option(
        callback=usage_check(check_compression),
        help="Output Parquet codec: snappy, zstd (smaller, slower), lz4, gzip or none.",
    ),
]
