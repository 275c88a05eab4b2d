"""Time zones compared by what they mean, not by their names.

``UTC``, ``Etc/UTC``, ``Etc/GMT``, ``Zulu`` and ``GMT`` read every instant at the same clock
time; so do ``US/Eastern`` and ``America/New_York``. Two names are the same zone when the time
zone database gives them the same UTC offsets over all of history and the same rule for the
future (abbreviations such as ``UTC`` against ``GMT`` aside). The database is Python's
(:data:`zoneinfo.TZPATH`, else the ``tzdata`` package); a name it does not hold is compared by
its spelling only.

Examples
--------
>>> same_zone("UTC", "Etc/UTC"), same_zone("Etc/GMT", "Zulu"), same_zone("UTC", "Europe/London")
(True, True, False)
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import struct
import zoneinfo
from pathlib import Path

_HEADER = 44  # "TZif", version, 15 reserved bytes, six 4-byte counts (RFC 8536)
_ABBREVIATION = re.compile(rb"<[^>]*>|[A-Za-z]{3,}")  # in the footer's POSIX TZ rule
Meaning = tuple[int, tuple[tuple[int, int], ...], bytes]


def same_zone(first: str | None, second: str | None) -> bool:
    """Whether two time zones (``None``: naive) read every instant at the same clock time."""
    if first == second:
        return True
    if first is None or second is None:
        return False
    a, b = zone_meaning(first), zone_meaning(second)
    return a is not None and a == b


@functools.lru_cache(maxsize=256)
def zone_meaning(zone: str) -> Meaning | None:
    """The offset before the first transition, each transition with its new offset (only those
    that change it) and the footer rule without abbreviations; ``None`` for an unknown name."""
    data = _tzif(zone)
    if data is None:
        return None
    try:
        return _parse(data)
    except (struct.error, IndexError, ValueError):
        return None


def _tzif(zone: str) -> bytes | None:
    """The database file of ``zone``, read only for a name ``zoneinfo`` itself accepts."""
    try:
        zoneinfo.ZoneInfo(zone)  # refuses names that are not keys ('../x', absolute paths)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None
    for root in zoneinfo.TZPATH:
        path = Path(root, zone)
        if path.is_file():
            return path.read_bytes()
    try:
        return importlib.resources.files("tzdata.zoneinfo").joinpath(*zone.split("/")).read_bytes()
    except (ModuleNotFoundError, OSError):
        return None


def _parse(data: bytes) -> Meaning:
    """Offsets and transitions of a TZif file (RFC 8536), of its 64-bit part when it has one."""
    if data[:4] != b"TZif":
        raise ValueError("not a TZif file")
    counts = struct.unpack(">6l", data[20:_HEADER])
    start, time_size = _HEADER, 4
    if data[4:5] >= b"2":  # skip the 32-bit part: the 64-bit one after it covers all of history
        start += _body_size(counts, 4) + _HEADER
        counts = struct.unpack(">6l", data[start - 24 : start])
        time_size = 8
    is_ut, is_std, leaps, times, types, chars = counts
    fmt = f">{times}{'q' if time_size == 8 else 'l'}"
    moments = struct.unpack(fmt, data[start : start + times * time_size])
    at = start + times * time_size
    indices = data[at : at + times]
    at += times
    offsets = [struct.unpack(">l", data[at + 6 * i : at + 6 * i + 4])[0] for i in range(types)]
    at += types * 6 + chars + leaps * (time_size + 4) + is_std + is_ut
    footer = data[at:].strip(b"\n") if time_size == 8 else b""
    changes, current = [], offsets[0]
    for moment, index in zip(moments, indices, strict=True):
        if offsets[index] != current:
            current = offsets[index]
            changes.append((moment, current))
    return offsets[0], tuple(changes), _ABBREVIATION.sub(b"A", footer)


def _body_size(counts: tuple[int, ...], time_size: int) -> int:
    is_ut, is_std, leaps, times, types, chars = counts
    return times * (time_size + 1) + types * 6 + chars + leaps * (time_size + 4) + is_std + is_ut
