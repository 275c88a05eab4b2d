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
['noise', 'noise_level', 'clean_weight']
>>> declared("steps").default
4000
"""

from __future__ import annotations

from collections import Counter

from aefeatures.errors import ConfigError
from aefeatures.goals import GOALS
from aefeatures.settings import sections
from aefeatures.settings.declare import Setting
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
_BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}


def declared(name: str) -> Setting:
    """The declaration of setting ``name``; :class:`KeyError` if there is none.

    Examples
    --------
    >>> declared("kind").choices[:2]
    ('undercomplete', 'deep')
    """
    return _BY_NAME[name]


def _check_declarations() -> None:
    """Setting names are unique, and every goal names declared settings with allowed values."""
    twice = sorted(name for name, count in Counter(s.name for s in SETTINGS).items() if count > 1)
    if twice:
        raise TypeError(f"settings declared twice: {', '.join(twice)}")
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

__all__ = ["SECTIONS", "SETTINGS", "Setting", "declared"]
