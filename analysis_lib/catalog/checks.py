"""An entry's checks, run on the table as built and before it replaces anything: each failure is
described with the rows that fail, and any failure leaves the old table in place."""

from __future__ import annotations

import datetime
import decimal
import re

import sqlalchemy as sa

from .sql import ident, run
from .queries import QueryProblem, parse_query
from ..errors import CatalogError
from .spec import Check

_SHOWN = 5


class CheckFailed(CatalogError):
    """One or more checks failed; the table as it was is still there."""


def run_checks(conn: sa.Connection, checks: list[Check], relation: str, columns: dict[str, str]) -> list[str]:
    """What failed, one line each (empty: every check passed). ``relation`` is the quoted table checked."""
    failures = []
    for check in checks:
        failures += _RUNNERS[check.kind](conn, getattr(check, check.kind), relation, columns)
    return failures


def _known(names: list[str], columns: dict[str, str], kind: str) -> list[str]:
    unknown = [n for n in names if n not in columns]
    if unknown:
        return [f"{kind}: no column {', '.join(unknown)} (columns: {', '.join(columns)})"]
    return []


def _not_null(conn, names: list[str], relation: str, columns: dict) -> list[str]:
    if problems := _known(names, columns, "not_null"):
        return problems
    counts = run(
        conn,
        "SELECT " + ", ".join(f"count(*) FILTER (WHERE {ident(n)} IS NULL)" for n in names) + f" FROM {relation}").one()
    return [f"not_null {name}: {count:,} rows hold NULL" for name, count in zip(names, counts) if count]


def _unique(conn, names: list[str], relation: str, columns: dict) -> list[str]:
    if problems := _known(names, columns, "unique"):
        return problems
    listed = ", ".join(ident(n) for n in names)
    repeated = run(
        conn,
        f"SELECT {listed}, count(*) AS n, count(*) OVER () AS groups FROM {relation} GROUP BY {listed}"
        f" HAVING count(*) > 1 ORDER BY n DESC, {listed} LIMIT {_SHOWN}").all()
    if not repeated:
        return []
    shown = "; ".join(f"{_values(row[: len(names)])} ×{row[-2]}" for row in repeated)
    return [f"unique {', '.join(names)}: {repeated[0][-1]:,} values occur more than once, e.g. {shown}"]


def _rows(conn, bounds, relation: str, columns: dict) -> list[str]:
    count = run(conn, f"SELECT count(*) FROM {relation}").scalar()
    if bounds.min is not None and count < bounds.min:
        return [f"rows: {count:,}, fewer than the minimum {bounds.min:,}"]
    if bounds.max is not None and count > bounds.max:
        return [f"rows: {count:,}, more than the maximum {bounds.max:,}"]
    return []


def _geometry(conn, check, relation: str, columns: dict) -> list[str]:
    geometries = [n for n, t in columns.items() if t.startswith("geometry")]
    column = check.column
    if column is None:
        if len(geometries) != 1:
            return [f"geometry: name the column (the table has {len(geometries)} geometry columns: {', '.join(geometries) or 'none'})"]
        column = geometries[0]
    elif column not in geometries:
        return [f"geometry: {column} is not a geometry column (geometry columns: {', '.join(geometries) or 'none'})"]
    quoted = ident(column)
    parts, labels = [], []
    if check.valid:
        parts.append(f"count(*) FILTER (WHERE NOT ST_IsValid({quoted}))")
        labels.append("invalid")
    if check.type:
        parts.append(f"count(*) FILTER (WHERE upper(GeometryType({quoted})) <> upper(%(type)s))")
        labels.append(f"not {check.type}")
    if check.srid is not None:
        parts.append(f"count(*) FILTER (WHERE ST_SRID({quoted}) <> %(srid)s)")
        labels.append(f"not in SRID {check.srid}")
    if not parts:
        return []
    counts = run(conn, f"SELECT {', '.join(parts)} FROM {relation}", {"type": check.type, "srid": check.srid}).one()
    failures = [f"geometry {column}: {count:,} geometries are {label}" for label, count in zip(labels, counts) if count]
    if check.valid and counts[0]:
        reasons = run(
            conn,
            f"SELECT ST_IsValidReason({quoted}) FROM {relation} WHERE NOT ST_IsValid({quoted}) LIMIT {_SHOWN}").scalars().all()
        failures[0] += f" ({'; '.join(reasons)})"
    return failures


def _sql(conn, query: str, relation: str, columns: dict) -> list[str]:
    text = query.replace("{this}", relation)
    try:
        parse_query(text)  # its own text each time ({this} is a staging table): not one for the cache
    except QueryProblem as problem:
        return [f"sql {_short(query)}: {problem}"]
    result = run(conn, f"SELECT * FROM ({text}\n) AS failing LIMIT {_SHOWN + 1}")  # a recipe may end in a -- comment
    rows = result.all()
    if not rows:
        return []
    names = list(result.keys())
    shown = "; ".join(", ".join(f"{n}={_shown(v)}" for n, v in zip(names, row)) for row in rows[:_SHOWN])
    more = " and more" if len(rows) > _SHOWN else ""
    return [f"sql {_short(query)}: returned failing rows: {shown}{more}"]


def _values(values) -> str:
    return "(" + ", ".join(_shown(v) for v in values) + ")"


_HEX_WKB = re.compile(r"0[01][0-9A-F]{16,}")


def _shown(value) -> str:
    """A value as the analyst wrote it: dates and numbers plainly, a geometry as such, long text cut."""
    if isinstance(value, (datetime.date, datetime.time, decimal.Decimal)):
        return str(value)
    if isinstance(value, str):
        if _HEX_WKB.fullmatch(value):
            return "<geometry>"
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return repr(value)


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 80 else flat[:77] + "...")


_RUNNERS = {"not_null": _not_null, "unique": _unique, "rows": _rows, "geometry": _geometry, "sql": _sql}
