"""What is slow to work out from a text but always the same for the same text, kept on disk: the
recipes of a validated datasets.yml and the parsed SQL of its derived entries.

A result is found by the sha256 of its text and of the code that works it out (the catalog's
source, ``defaults.py`` and the versions of pydantic, pydantic-core, PyYAML and pglast), taken when
this module is imported: a process stores nothing once those files differ from what it runs (a
``git pull`` under a running kernel), and a change to either is a miss, never another's answer. The
cache lives in ``$XDG_CACHE_HOME/analysis-lib`` (else ``~/.cache/analysis-lib``), in folders of the
user's own that no one else may write; one that cannot be used only makes a run slower.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_READERS = ("pydantic", "pydantic-core", "PyYAML", "pglast")
_KEPT_PER_KIND = 200  # past this many, the least recently used go


def code_sources() -> list[Path]:
    package = Path(__file__).parent
    return [*sorted(package.glob("*.py")), package.parent / "defaults.py"]


def code_digest() -> str | None:
    """The digest of the code that works the results out, as it is on disk now (None: unknown)."""
    digest = hashlib.sha256()
    try:
        for source in code_sources():
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
        for reader in _READERS:
            digest.update(f"{reader} {metadata.version(reader)}\0".encode())
    except (OSError, metadata.PackageNotFoundError):
        return None
    return digest.hexdigest()


_RUNNING_CODE = code_digest()


def remembered(kind: str, text: str, make: Callable[[], T], dump: Callable[[T], object], load: Callable[[object], T]) -> T:
    """``make()``'s result for ``text``, from the cache when it was made before by the same code."""
    path = _path(kind, text)
    if path is not None and _own_folders(path.parent.parent, path.parent):
        try:
            result = load(json.loads(path.read_bytes()))
            os.utime(path)  # used: kept when pruning
            return result
        except (OSError, ValueError, TypeError, KeyError):  # not there, or not what this code writes
            pass
    result = make()
    if path is not None:
        _store(path, json.dumps(dump(result), ensure_ascii=False))
    return result


def folder() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME", "")
    try:
        base_path = Path(base) if os.path.isabs(base) else Path.home() / ".cache"  # the XDG rule: a relative one is ignored
    except RuntimeError:  # no home directory
        return None
    return base_path / "analysis-lib"


def _path(kind: str, text: str) -> Path | None:
    where = folder()
    if _RUNNING_CODE is None or where is None:
        return None
    key = hashlib.sha256(f"{_RUNNING_CODE}\n".encode() + text.encode()).hexdigest()
    return where / kind / f"{key}.json"


def _own_folders(*folders: Path) -> bool:
    """Directories of this user that no one else may write (not links): what they hold was written
    by this user's runs."""
    for folder_path in folders:
        try:
            found = os.lstat(folder_path)
        except OSError:
            return False
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o022:
            return False
    return True


def _store(path: Path, content: str) -> None:
    if code_digest() != _RUNNING_CODE:  # the files changed since this process read its code
        return
    kind_folder = path.parent
    try:
        kind_folder.parent.parent.mkdir(exist_ok=True, mode=0o700)  # ~/.cache, in a home that exists
        kind_folder.parent.mkdir(exist_ok=True, mode=0o700)
        if not _own_folders(kind_folder.parent):
            return  # nothing made in a folder that is not the user's own
        kind_folder.mkdir(exist_ok=True, mode=0o700)
        if not _own_folders(kind_folder):
            return
        handle, temporary = tempfile.mkstemp(dir=kind_folder, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
        os.replace(temporary, path)  # whole or not at all, also with two runs at once
        _prune(path.parent)
    except OSError:  # a full disk: only slower
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _prune(kind_folder: Path) -> None:
    found = sorted(kind_folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in found[_KEPT_PER_KIND:]:
        old.unlink(missing_ok=True)
