"""``:name`` placeholders in SQL, found by PostgreSQL's own lexer (pglast) and turned into ``$1, $2, …``.

The lexer knows what a placeholder is not: text inside string literals (``'10:30'::time``), dollar
quotes, quoted identifiers and comments, and the ``::`` of a cast, so ``:jaar::int`` is the placeholder
``jaar`` followed by a cast. A colon directly followed by a name is a placeholder everywhere else (an
array slice by columns is written with spaces: ``a[lo : hi]``). Placeholders and the given values must
match exactly: a name without a value, or a value no placeholder uses, is an error naming both sides.

Each placeholder carries the PostgreSQL type of its Python value (``($1::integer)``), as SQLAlchemy
does, so ``ST_Transform(geom, :srid)`` finds its function: without it an int is a bigint, for which
PostGIS has none. Integers beyond 32 bits are bigint, so a BAG id passed as a number fits. A list,
tuple, set or array right after IN (``WHERE buurt IN :buurten``, or ``IN (:buurten)``) becomes one
parameter per item; elsewhere it is an array (``= ANY(:buurten)``); a dict is jsonb.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from pglast.parser import ParseError, scan

from .errors import QueryError

_COLON = "ASCII_58"
_MAX_PARAMETERS = 65_535  # PostgreSQL's protocol numbers parameters in 16 bits


def bind(sql: str, params: Mapping[str, Any] | None) -> tuple[str, tuple]:
    """``sql`` with each ``:name`` replaced by ``$n`` (one number per name), and the values in that order."""
    given = {name: _plain(value) for name, value in (params or {}).items()}
    placeholders = _placeholders(sql, given)
    names = list(dict.fromkeys(name for _, _, name, _ in placeholders))
    _check(names, given)
    if not names:
        return sql, ()
    # a list after IN, as in "WHERE buurt IN :buurten", becomes one parameter per item: IN ($1, $2, $3)
    lists = {name for name in names if isinstance(given[name], list | tuple | set | frozenset | np.ndarray)}
    for name in lists:
        uses = [after_in for _, _, n, after_in in placeholders if n == name]
        if any(uses) and not all(uses):
            raise QueryError(f"query parameter {name!r} is a list used after IN and elsewhere; give each use a parameter of its own")
    expanded = {name for name in lists if any(after_in for _, _, n, after_in in placeholders if n == name)}
    given |= {name: sorted(given[name]) if isinstance(given[name], set | frozenset) else list(given[name]) for name in expanded}
    if len(values_needed := [item for name in expanded for item in given[name]]) > _MAX_PARAMETERS:
        raise QueryError(f"{len(values_needed):,} items after IN are more than PostgreSQL takes; pass them as an array: = ANY(:name)")
    numbers, values = {}, []
    for name in names:
        items = list(given[name]) if name in expanded else [given[name]]
        if name in expanded and not items:
            raise QueryError(f"query parameter {name!r} is an empty list, which cannot follow IN; leave the condition out instead")
        numbers[name] = [f"${len(values) + i}" for i in range(1, len(items) + 1)]
        values += items
    pieces, last = [], 0
    for start, end, name, _ in placeholders:
        typed = [_typed(number, value) for number, value in zip(numbers[name], list(given[name]) if name in expanded else [given[name]], strict=True)]
        pieces += [sql[last:start], f"({', '.join(typed)})" if name in expanded else typed[0]]
        last = end
    pieces.append(sql[last:])
    return "".join(pieces), tuple(values)


def _typed(placeholder: str, value: Any) -> str:
    type_name = _pg_type(value)
    return f"({placeholder}::{type_name})" if type_name else placeholder


def _plain(value: Any) -> Any:
    """What the driver binds: numpy and pandas arrays as lists, dicts as JSON text (typed jsonb)."""
    if isinstance(value, dict):
        return _Json(json.dumps(value, ensure_ascii=False, default=str))
    if hasattr(value, "tolist") and not isinstance(value, np.generic):
        return value.tolist()
    return value


class _Json(str):
    """JSON text of a dict parameter."""


def _pg_type(value: Any) -> str | None:
    if isinstance(value, _Json):
        return "jsonb"
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, int | np.integer):
        return "integer" if -(2**31) <= int(value) < 2**31 else "bigint"
    if isinstance(value, float | np.floating):
        return "double precision"
    if isinstance(value, decimal.Decimal):
        return "numeric"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bytes):
        return "bytea"
    if isinstance(value, dt.datetime):
        return "timestamptz" if value.tzinfo is not None else "timestamp"
    if isinstance(value, dt.date):
        return "date"
    return None  # None, lists, …: the driver's own type


def _placeholders(sql: str, given: dict) -> list[tuple[int, int, str, bool]]:
    """(start, end, name, right after IN) of every ``:name``; ``end`` is exclusive."""
    try:
        tokens = scan(sql)
    except ParseError as error:
        if not given:
            return []  # the server will say what is wrong with the SQL, as it would without placeholders
        raise QueryError(f"the query cannot be read: {error}") from None
    found = []
    names = [token.name for token in tokens]
    for index, (colon, name) in enumerate(zip(tokens, tokens[1:], strict=False)):
        if colon.name == _COLON and name.start == colon.end + 1 and _is_name(sql, name):
            start, end = colon.start, name.end + 1
            after_in = index > 0 and names[index - 1] == "IN_P"
            # "IN (:buurten)", written with the parentheses: the list goes inside them
            in_parentheses = index > 1 and names[index - 2 : index] == ["IN_P", "ASCII_40"] and names[index + 2 : index + 3] == ["ASCII_41"]
            if in_parentheses:
                start, end = tokens[index - 1].start, tokens[index + 2].end + 1
            found.append((start, end, sql[name.start : name.end + 1], after_in or in_parentheses))
    return found


def _is_name(sql: str, token) -> bool:
    """A bare identifier or keyword (``:end`` is a placeholder too), not a quoted identifier or a number."""
    first = sql[token.start]
    return (token.name == "IDENT" or token.kind != "NO_KEYWORD") and (first.isalpha() or first == "_")


def _check(names: list[str], given: dict) -> None:
    missing = [name for name in names if name not in given]
    unused = [key for key in given if key not in names]
    if not missing and not unused:
        return
    uses = f"the SQL uses {', '.join(':' + n for n in names)}" if names else "the SQL has no :name placeholders"
    problems = []
    if missing:
        problems.append(f"no value for {', '.join(':' + n for n in missing)}")
    if unused:
        problems.append(f"{', '.join(map(repr, unused))} not used in the SQL")
    passed = f"params has {', '.join(map(repr, given))}" if given else "no params were given"
    raise QueryError(f"query parameters do not match: {'; '.join(problems)} ({uses}; {passed})")
