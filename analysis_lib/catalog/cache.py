"""What is slow to work out from a text but always the same for the same text, kept on disk: the
recipes of a validated datasets.yml and the parsed SQL of its derived entries.

A result is found by the sha256 of its text and of the code that works it out (the catalog's
source, ``defaults.py`` and the versions of pydantic, pydantic-core, PyYAML and pglast), taken when
this module is imported; a change to either is a miss. A process stores nothing more once the files
differ from that, or a module read later (spec, imported when first needed) was not what was hashed:
after a ``git pull`` under a running kernel its results are not another version's. The cache lives
in ``$XDG_CACHE_HOME/analysis-lib`` (else ``~/.cache/analysis-lib``), in folders of the user's own
that no one else may write; one that cannot be used only makes a run slower. Results unused for
30 days are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_READERS = ("pydantic", "pydantic-core", "PyYAML", "pglast")
_UNUSED_FOR = 30 * 86400  # seconds; a result's file time is its last use


def code_sources() -> list[Path]:
    package = Path(__file__).parent
    return [*sorted(package.glob("*.py")), package.parent / "defaults.py"]


def code_digest() -> str | None:
    """The digest of the code that works the results out, as it is on disk now (None: unknown)."""
    digest = hashlib.sha256()
    try:
        for source in code_sources():
            digest.update(source.name.encode() + b"\0" + _source_digest(source).encode())
        for reader in _READERS:
            digest.update(f"{reader} {metadata.version(reader)}\0".encode())
    except (OSError, metadata.PackageNotFoundError):
        return None
    return digest.hexdigest()


def _source_digest(source: Path) -> str:
    return hashlib.sha256(source.read_bytes()).hexdigest()


_HASHED = {}
with contextlib.suppress(OSError):
    _HASHED = {str(source): _source_digest(source) for source in code_sources()}
_RUNNING_CODE = code_digest()
_changed_under_us = False


def loaded(module_file: str) -> None:
    """Called by a module the catalog imports when first needed, as it is imported: if it is not what
    was hashed, this process stores no results."""
    global _changed_under_us
    try:
        _changed_under_us = _changed_under_us or _source_digest(Path(module_file)) != _HASHED.get(module_file)
    except OSError:
        _changed_under_us = True


def remembered(kind: str, text: str, make: Callable[[], T], dump: Callable[[T], object], load: Callable[[object], T]) -> T:
    """``make()``'s result for ``text``, from the cache when it was made before by the same code."""
    path = _path(kind, text)
    if path is not None and _own_folders(path.parent.parent, path.parent):
        try:
            result = load(json.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError, KeyError):  # not there, or not what this code writes
            pass
        else:
            with contextlib.suppress(OSError):
                os.utime(path)  # used now: kept when pruning
            return result
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
    global _changed_under_us
    _changed_under_us = _changed_under_us or code_digest() != _RUNNING_CODE
    if _changed_under_us:  # this process may run other code than the key says: once seen, for good
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
    """Results unused for _UNUSED_FOR, and temporary files a killed run left."""
    now = time.time()
    for old in [*kind_folder.glob("*.json"), *kind_folder.glob("*.tmp")]:
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > (_UNUSED_FOR if old.suffix == ".json" else 86400):
                old.unlink()
