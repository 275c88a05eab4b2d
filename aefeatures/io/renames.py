"""The file-system steps of publishing an output: renames that never clobber, flushes, removal.

:func:`place_new` renames a finished temporary onto a name only while nothing is there
(``renameat2(RENAME_NOREPLACE)`` on Linux, else a hard link for a file or a claimed empty
directory for a directory), :func:`swap` replaces an existing output (an atomic exchange for a
directory where the kernel has one), and :func:`fsync_tree` flushes what was written.
:func:`aefeatures.io.sinks.atomic_path` decides when each step runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any


def place_new(temporary: Path, target: Path, directory: bool) -> bool:
    """Rename ``temporary`` to ``target`` unless something is there; ``False`` when it is."""
    try:
        if _renameat2(temporary, target, _RENAME_NOREPLACE):
            return True
        if directory:
            os.mkdir(target)  # claims the name: fails when anything, even an empty directory, is there
            try:
                os.rename(temporary, target)  # replaces only the empty directory claimed above
            except BaseException:
                with contextlib.suppress(OSError):
                    os.rmdir(target)
                raise
            return True
        try:
            os.link(temporary, target)  # fails when the name is taken
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: claim the name, then replace the claim
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            os.replace(temporary, target)
        else:
            os.unlink(temporary)
        return True
    except FileExistsError:
        return False


def swap(temporary: Path, target: Path, directory: bool) -> None:
    """Replace the existing ``target`` by ``temporary``; the old one ends up at ``temporary`` or gone."""
    if not directory:
        os.replace(temporary, target)
    elif not _renameat2(temporary, target, _RENAME_EXCHANGE):
        # No atomic exchange here: move the old directory aside, then rename the new one in.
        aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, aside)
        os.replace(temporary, target)
        remove(aside)


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2


@functools.cache
def _libc_renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc before 2.28, musl, no libc symbols
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """``renameat2(source, target, flags)``: ``True`` when done, ``False`` when not available here.

    Raises ``FileExistsError`` (``RENAME_NOREPLACE`` and ``target`` exists) or another
    ``OSError`` as ``os.rename`` would.
    """
    function = _libc_renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False  # the kernel or the file system does not do this: use the portable way
    raise OSError(code, os.strerror(code), str(target))


def fsync_tree(path: Path) -> None:
    """Flush a written file, or every file of a written directory, to disk."""
    for item in [*path.rglob("*"), path] if path.is_dir() else [path]:
        fsync(item)


def fsync(path: Path) -> None:
    """Flush ``path`` (a file, or a directory's entries) to disk; a file system that cannot is let be."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove(path: Path) -> None:
    """Delete a file, a link or a whole directory, if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        path.unlink()
