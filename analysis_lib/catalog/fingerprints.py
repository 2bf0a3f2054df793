"""What a table was made from, as digests: the file's sha256, the options, the loader's version, the
SQL's parse tree and the inputs' own fingerprints. Equal fingerprints mean the same table.

A file is hashed again only when its size or modification time differ from what the last build
recorded (``verify=True`` hashes every file)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__

if TYPE_CHECKING:
    from .spec import Entry

LOADER_VERSION = __version__

# Entry fields that do not change what is stored: how long to wait, how to fetch, the order hints and
# the checks (which have a digest of their own, so a changed check re-checks without touching dependents).
_NOT_IN_OPTIONS = {"checks", "lock_timeout", "headers", "depends_on", "url", "file"}


@dataclass(frozen=True)
class FileState:
    path: str  # relative to the project
    size: int
    mtime_ns: int
    sha256: str
    inode: int | None = None  # with ctime_ns: which file it was (a copy made with cp -p has the same size and time)
    ctime_ns: int | None = None

    def describes(self, status) -> bool:
        same = (self.size, self.mtime_ns) == (status.st_size, status.st_mtime_ns)
        if self.inode is not None:
            same = same and (self.inode, self.ctime_ns) == (status.st_ino, status.st_ctime_ns)
        return same


@dataclass(frozen=True)
class Fingerprint:
    components: dict = field(hash=False)  # file, options, loader, sql, schema_definition, inputs
    checks: str = ""

    @property
    def data(self) -> str:
        """What dependents see: one digest of every component."""
        return digest(self.components)


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def file_state(path: Path, relative: str, recorded: FileState | None, *, verify: bool = False) -> FileState:
    status = path.stat()
    if not verify and recorded is not None and recorded.describes(status):
        return FileState(relative, status.st_size, status.st_mtime_ns, recorded.sha256, status.st_ino, status.st_ctime_ns)
    sha = sha256_of(path)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (status.st_size, status.st_mtime_ns):
        raise OSError(f"{relative} changed while it was read")
    return FileState(relative, status.st_size, status.st_mtime_ns, sha, status.st_ino, status.st_ctime_ns)


def options_of(entry: Entry) -> dict:
    """The options that change what is stored, as given (defaults left out, so spelling one out changes nothing)."""
    return entry.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude=_NOT_IN_OPTIONS)


def checks_digest(entry: Entry) -> str:
    return digest([check.model_dump(mode="json", exclude_none=True) for check in entry.checks])


def reasons(recorded: Fingerprint, current: Fingerprint, names: dict[str, str] | None = None) -> list[str]:
    """Why ``current`` differs from ``recorded``, in words."""
    old, new = recorded.components, current.components
    said = []
    if old.get("file") != new.get("file"):
        said.append("file changed")
    if old.get("schema_definition") != new.get("schema_definition"):
        said.append("Amsterdam Schema definition changed")
    if old.get("options") != new.get("options"):
        before, now = old.get("options") or {}, new.get("options") or {}
        changed = sorted(key for key in set(before) | set(now) if before.get(key) != now.get(key))
        said.append(f"options changed ({', '.join(changed)})" if changed else "options changed")
    if old.get("sql") != new.get("sql"):
        said.append("SQL changed")
    if old.get("kind") != new.get("kind"):
        said.append(f"made as {new.get('kind')} instead of {old.get('kind')}")
    old_inputs, new_inputs = old.get("inputs", {}), new.get("inputs", {})
    for name in sorted(set(old_inputs) | set(new_inputs)):
        if name not in old_inputs:
            said.append(f"new input {name}")
        elif name not in new_inputs:
            said.append(f"no longer reads {name}")
        elif old_inputs[name] != new_inputs[name]:
            said.append(f"input {name} changed")
    if old.get("loader") != new.get("loader"):
        said.append(f"the loader's version changed ({old.get('loader')} -> {new.get('loader')})")
    if not said and recorded.checks != current.checks:
        said.append("checks changed")
    return said or (["changed"] if recorded != current else [])
