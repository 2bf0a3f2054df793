"""What is slow to work out from a text but always the same for the same text, kept on disk: the
recipes of a validated datasets.yml and a derived entry's parsed SQL.

A result is found by the sha256 of its text and of the code that works it out (the catalog's source
and the versions of pydantic, PyYAML and pglast), so a change to either is a miss, never a stale
answer. The cache lives in ``$XDG_CACHE_HOME/analysis-lib`` (else ``~/.cache/analysis-lib``); one
that cannot be read or written only makes a run slower.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_READERS = ("pydantic", "pydantic-core", "PyYAML", "pglast")
_KEPT_PER_KIND = 200  # results of texts since edited are dropped past this many


def remembered(kind: str, text: str, make: Callable[[], T], dump: Callable[[T], object], load: Callable[[object], T]) -> T:
    """``make()``'s result for ``text``, from the cache when it was made before with the same code."""
    path = _path(kind, text)
    if path is not None:
        try:
            return load(json.loads(path.read_bytes()))
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
    code, where = _code_digest(), folder()
    if code is None or where is None:
        return None
    key = hashlib.sha256(f"{code}\n".encode() + text.encode()).hexdigest()
    return where / kind / f"{key}.json"


def _store(path: Path, content: str) -> None:
    temporary = path.with_name(f"{path.stem}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary.write_text(content, encoding="utf-8")
        os.replace(temporary, path)  # whole or not at all, also with two runs at once
        _prune(path.parent)
    except OSError:  # a cache that cannot be written only costs time
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def _prune(kind_folder: Path) -> None:
    found = sorted(kind_folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in found[_KEPT_PER_KIND:]:
        old.unlink(missing_ok=True)


@functools.cache
def _code_digest() -> str | None:
    package = Path(__file__).parent
    digest = hashlib.sha256()
    try:
        for source in [*sorted(package.glob("*.py")), package.parent / "defaults.py"]:
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
        for reader in _READERS:
            digest.update(f"{reader} {metadata.version(reader)}\0".encode())
    except (OSError, metadata.PackageNotFoundError):
        return None
    return digest.hexdigest()
