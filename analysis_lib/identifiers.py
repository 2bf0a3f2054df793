"""Safe SQL identifiers: column names normalised to snake_case, table names checked, all quoted."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from psycopg import sql

from .errors import LoadError

MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1
_SAFE = re.compile(r"[a-z_][a-z0-9_]*")


def snake_case(name: str) -> str:
    """'Aantal Inwoners (2024)' -> 'aantal_inwoners_2024'; accents folded, never empty."""
    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_name)  # camelCase -> camel_Case
    snake = re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
    if not snake:
        snake = "column"
    if snake[0].isdigit():
        snake = f"c_{snake}"
    return snake[:MAX_IDENTIFIER_BYTES]


def normalise_columns(names: Iterable[str], *, reserved: Iterable[str] = ()) -> dict[str, str]:
    """Original name -> unique snake_case name, in order; clashes (also with ``reserved``) get _2, _3, …"""
    mapping: dict[str, str] = {}
    taken: set[str] = set(reserved)
    for name in names:
        base = snake_case(name)
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            suffix = f"_{n}"
            candidate = base[: MAX_IDENTIFIER_BYTES - len(suffix)] + suffix
        taken.add(candidate)
        mapping[name] = candidate
    return mapping


def unique_names(names: list[str]) -> list[str]:
    """``names`` with repeats made unique: the first keeps its name, later ones get _2, _3, … (skipping
    any name already in the list), in order."""
    taken, unique = set(names), []
    for position, name in enumerate(names):
        if name in names[:position]:
            n = 2
            while f"{name}_{n}" in taken:
                n += 1
            name = f"{name}_{n}"
            taken.add(name)
        unique.append(name)
    return unique


def checked_name(name: str, what: str) -> str:
    """``name`` if it is a plain lower-case identifier, else LoadError saying which name would do."""
    if not isinstance(name, str) or not _SAFE.fullmatch(name) or len(name.encode()) > MAX_IDENTIFIER_BYTES:
        suggestion = snake_case(name) if isinstance(name, str) else None
        hint = f"; use e.g. {suggestion!r}" if suggestion else ""
        raise LoadError(
            f"{what} {name!r} is not allowed: use lower-case letters, digits and _ (at most 63 bytes){hint}"
        )
    return name


def qualified(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
