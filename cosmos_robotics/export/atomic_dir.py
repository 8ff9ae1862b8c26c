"""Directory-level atomic publish: build a new version of a directory beside it, then swap it in at once.

``publish`` uses Linux ``renameat2(RENAME_EXCHANGE)``, which swaps two directory entries in one step, so a reader
(or a process killed at any instant) sees either the old or the new tree, never a mix and never nothing. Where the
kernel or file system lacks it, it falls back to two renames through ``<name>.old``; ``recover`` undoes a crash
between them (a dataset that briefly does not exist rather than a broken one).
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths; False when the platform cannot (caller falls back)."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def backup_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def publish(staging: Path, target: Path) -> None:
    """Make ``staging`` become ``target``; the previous ``target`` tree is deleted afterwards."""
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        os.replace(staging, target)  # rename(2) onto a missing or empty directory is atomic
        return
    if _exchange(staging, target):
        shutil.rmtree(staging)  # now holds the previous version
        return
    old = backup_path(target)
    os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old)


def recover(target: Path) -> None:
    """Finish or undo an interrupted fallback ``publish``."""
    old = backup_path(target)
    if old.exists():
        if target.exists():
            shutil.rmtree(old)
        else:
            os.replace(old, target)


def clone_tree(src: Path, dst: Path, link: Callable[[Path], bool]) -> None:
    """Copy ``src`` to ``dst``, hard-linking the files for which ``link(relative_path)`` is true (no data copied)."""

    def copy(s: str, d: str) -> None:
        if link(Path(s).relative_to(src)):
            os.link(s, d)
        else:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=copy)
