"""A derived entry's SQL read by PostgreSQL's own parser (pglast): one SELECT, the tables it reads, and
a digest that whitespace and comments do not change. A text read before comes from the cache (see
cache), without pglast."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from .cache import remembered

_LOCATION = re.compile(r',?"location":-?\d+')


@dataclass(frozen=True)
class Query:
    text: str
    digest: str  # of the parse tree without source positions
    reads: frozenset[tuple[str | None, str]]  # (schema or None, table)


class QueryProblem(ValueError):
    pass


def read_query(text: str) -> Query:
    """``text`` as one SELECT (WITH … SELECT, VALUES, UNION …), QueryProblem otherwise; from the cache
    when this text was read before (a recipe's SQL, read on every plan)."""
    return remembered("queries", text, lambda: parse_query(text), _dump, lambda data: _load(text, data))


def _dump(query: Query) -> dict:
    return {"digest": query.digest, "reads": sorted([list(relation) for relation in query.reads], key=str)}


def _load(text: str, data: dict) -> Query:
    return Query(text=text, digest=data["digest"], reads=frozenset((schema, table) for schema, table in data["reads"]))


def parse_query(text: str) -> Query:
    """read_query without the cache: for a text read once (a check's), or to confirm what it holds."""
    import pglast
    from pglast import parser

    try:
        tree = json.loads(parser.parse_sql_json(text))
    except pglast.parser.ParseError as error:
        message, *where = error.args
        if where and isinstance(where[0], int):  # a character index: as line and column
            before = text[: where[0]]
            message += f" (line {before.count(chr(10)) + 1}, column {len(before) - before.rfind(chr(10))})"
        raise QueryProblem(f"not valid SQL: {message}") from None
    statements = tree.get("stmts", [])
    if len(statements) != 1:
        raise QueryProblem(f"expected one SELECT, found {len(statements)} statements")
    statement = statements[0]["stmt"]
    kind = next(iter(statement))
    if kind != "SelectStmt" or "intoClause" in statement[kind]:
        raise QueryProblem(f"expected a SELECT, found {kind.removesuffix('Stmt')} (the catalog makes the table itself)")
    if _has(statement, "lockingClause"):
        raise QueryProblem("FOR UPDATE/SHARE has no place in a table's recipe")
    writes = [kind for kind in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt") if _has(statement, kind)]
    if writes:
        raise QueryProblem(f"a recipe only reads: this one holds {writes[0].removesuffix('Stmt').upper()} in a WITH")
    canonical = _LOCATION.sub("", json.dumps(statement, sort_keys=True, separators=(",", ":")))
    return Query(text=text, digest=hashlib.sha256(canonical.encode()).hexdigest(), reads=_relations(statement))


def _relations(statement: dict) -> frozenset[tuple[str | None, str]]:
    ctes: set[str] = set()
    found: set[tuple[str | None, str]] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "CommonTableExpr":
                    ctes.add(value["ctename"])
                elif key == "RangeVar":
                    found.add((value.get("schemaname"), value["relname"]))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(statement)
    return frozenset(relation for relation in found if not (relation[0] is None and relation[1] in ctes))


def _has(node, wanted: str) -> bool:
    if isinstance(node, dict):
        return any(key == wanted or _has(value, wanted) for key, value in node.items())
    if isinstance(node, list):
        return any(_has(item, wanted) for item in node)
    return False
