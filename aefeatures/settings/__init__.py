"""Fit settings, declared once: each with its name, type, default, allowed values or range and help.

The shared sections are in :mod:`aefeatures.settings.sections`; each kind's own settings are on
its line of the kinds registry, :mod:`aefeatures.settings.kinds`. Everything that lists fit
settings reads them from here: :class:`~aefeatures.config.FitConfig`'s fields and checks, the
command line's options and ``--set`` names, and the scikit-learn adapter's parameters. The goals'
settings (:data:`~aefeatures.goals.GOALS`) are checked against them on import. Torch-free;
imports :mod:`aefeatures.goals` and :mod:`aefeatures.errors` only.

Examples
--------
>>> [setting.name for setting in SECTIONS["denoising"]]
['noise', 'noise_level', 'clean_weight', 'gaussian_start', 'gaussian_components']
>>> declared("steps").default
4000
>>> [setting.name for setting in SECTIONS["training"] if setting.name not in uses("pca")][:3]
['trim', 'epochs', 'steps']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from aefeatures.errors import ConfigError
from aefeatures.goals import GOALS
from aefeatures.settings import sections
from aefeatures.settings.declare import NEEDS, Setting
from aefeatures.settings.kinds import KINDS, entry

# Section name -> its settings, in FitConfig's field order: shared sections, then each kind's.
SECTIONS: dict[str, tuple[Setting, ...]] = {
    "goal": sections.GOAL,
    "network": sections.NETWORK,
    "training": sections.TRAINING,
    "scoring": sections.SCORING,
    "data": sections.DATA,
    **{kind: entry(kind).settings for kind in KINDS if entry(kind).settings},
}
SETTINGS: tuple[Setting, ...] = tuple(setting for group in SECTIONS.values() for setting in group)
_SHARED = ("goal", "network", "training", "scoring", "data")
_BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}


def declared(name: str) -> Setting:
    """The declaration of setting ``name``; :class:`KeyError` if there is none.

    Examples
    --------
    >>> declared("kind").choices[:2]
    ('undercomplete', 'deep')
    """
    return _BY_NAME[name]


def uses(kind: str, values: Mapping[str, Any] | None = None) -> frozenset[str]:
    """Names of the settings a fit of ``kind`` uses: one rule over the declarations.

    A shared setting is used unless it ``needs`` something the kind's registry line says it does
    not do (a closed-form kind is not trained; ``pca`` does not clip its inputs); a kind's own
    settings are used by that kind only. With the fit's ``values``, a setting whose
    ``only_when`` conditions they miss is not used either.

    Examples
    --------
    >>> "noise" in uses("denoising"), "noise" in uses("deep"), "trim" in uses("pca")
    (True, False, False)
    >>> "clean_weight" in uses("denoising", {"noise": "gaussian"})
    False
    """
    line = entry(kind)
    shared = (s for section in _SHARED for s in SECTIONS[section])
    kept = [s for s in shared if s.needs is None or line.does(s.needs)] + list(line.settings)
    return frozenset(s.name for s in kept if values is None or _unmet(s, values) is None)


def _unmet(setting: Setting, values: Mapping[str, Any]) -> str | None:
    """Why ``setting`` has no effect under ``values`` (an ``only_when`` they miss), or ``None``."""
    for other, allowed in setting.only_when:
        value = values.get(other, declared(other).default)
        if value not in allowed:
            either = " or ".join(map(repr, allowed))
            return f"{setting.name} has an effect only when {other} is {either}, and {other}={value!r}"
    return None


def unused_reasons(
    kind: str, names: Iterable[str], values: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Of ``names``, the settings ``kind`` (under the fit's ``values``) does not use, each with why.

    Examples
    --------
    >>> unused_reasons("pca", ["trim", "latent_dim", "noise"])
    {'trim': 'that kind is solved in closed form, not trained', 'noise': "noise is a setting of kind 'denoising' only"}
    """
    used, by_kind = uses(kind, values), uses(kind)
    reasons = {}
    for name in names:
        if name in used:
            continue
        setting = declared(name)
        unmet = None if values is None else _unmet(setting, values)
        if name in by_kind and unmet is not None:
            reasons[name] = unmet
        elif setting.needs is not None:
            reasons[name] = f"that kind {NEEDS[setting.needs]}"
        else:
            owner = next(k for k in KINDS if setting in entry(k).settings)
            reasons[name] = f"{name} is a setting of kind {owner!r} only"
    return reasons


def check_used(
    given: Mapping[str, Any], kinds: Iterable[str], values: Mapping[str, Any] | None = None
) -> None:
    """Refuse settings given explicitly that none of ``kinds`` uses under the fit's ``values``
    (a goal's settings are not given).

    Raises
    ------
    ConfigError
        Naming each such setting, why it would have no effect, and the fix.

    Examples
    --------
    >>> check_used({"kind": "pca", "latent_dim": 2}, ["pca"])
    >>> check_used({"trim": 0.1}, ["pca"])  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    aefeatures.errors.ConfigError: trim=0.1 would have no effect with kind 'pca': that kind is solved in closed form, not trained.
    """
    kinds = list(kinds)
    names = [name for name in given if name in _BY_NAME]
    for kind in kinds:
        names = list(unused_reasons(kind, names, values))
    if not names:
        return
    reasons = unused_reasons(kinds[0], names, values)
    used = f"kind {kinds[0]!r}" if len(kinds) == 1 else f"kinds {', '.join(map(repr, kinds))}"
    what = "; ".join(
        f"{name}={given[name]!r} would have no effect with {used}: {reasons[name]}" for name in names
    )
    unmet = {
        other: allowed
        for name in names
        for other, allowed in declared(name).only_when
        if values is not None and values.get(other) not in allowed and other in uses(kinds[0])
    }  # a condition on a setting the kind has not got is no fix: another kind is
    users = [k for k in KINDS if uses(k).issuperset(names)]
    if unmet:
        other = ", or give " + " and ".join(f"{o} {' or '.join(map(repr, a))}" for o, a in unmet.items())
    else:
        other = f", or choose a kind that uses {'it' if len(names) == 1 else 'them'}: {', '.join(users)}"
    raise ConfigError(
        f"{what}.",
        hint=f"leave out {', '.join(names)} (command line: "
        + "; ".join(declared(name).command_line() for name in names)
        + ")"
        + (other if users else ""),
    )


def _check_declarations() -> None:
    """Setting names are unique, and every goal names declared settings with allowed values."""
    twice = sorted(name for name, count in Counter(s.name for s in SETTINGS).items() if count > 1)
    if twice:
        raise TypeError(f"settings declared twice: {', '.join(twice)}")
    for setting in SETTINGS:
        for other, allowed in setting.only_when:
            if other not in _BY_NAME or any(declared(other).typed(value) != value for value in allowed):
                raise TypeError(f"setting {setting.name!r}: only_when names {other!r} with {allowed!r}")
    for goal, values in GOALS.items():
        for name, value in values.items():
            if name not in _BY_NAME:
                raise TypeError(f"goal {goal!r} sets {name!r}, which is not a declared setting")
            setting = declared(name)
            try:
                setting.check_choice(setting.typed(value))
                setting.check_range(setting.typed(value))
            except ConfigError as exc:
                raise TypeError(f"goal {goal!r}: {exc.args[0]}") from None


_check_declarations()

__all__ = ["SECTIONS", "SETTINGS", "Setting", "check_used", "declared", "unused_reasons", "uses"]
