"""Statements sent as they are written (a recipe, a view's definition, a check of the user's), on a
SQLAlchemy connection (the build's transactions) or a plain psycopg one (see ``analysis_lib.pg``:
status and a build's bookkeeping, which must start without SQLAlchemy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    import sqlalchemy as sa

def run(conn: sa.Connection | psycopg.Connection, statement: str, parameters=None):
    """The statement's result (``scalar``, ``scalar_one``, ``one``, ``first``, ``all``, ``rowcount``;
    ``scalars()`` is a list here, SQLAlchemy's needs ``.all()``). psycopg reads % as a placeholder even when there are no parameters, so a statement
    without them has its % doubled (``LIKE 'A%'`` in a recipe stays what it says); a list of
    parameter rows runs the statement once per row."""
    if parameters is None:
        statement, parameters = statement.replace("%", "%%"), ()
    if isinstance(conn, psycopg.Connection):
        cursor = conn.cursor()
        if isinstance(parameters, list):
            cursor.executemany(statement, parameters)
        else:
            cursor.execute(statement, parameters)
        return Rows(cursor)
    return conn.exec_driver_sql(statement, parameters)


class Rows:
    """A psycopg cursor's rows with the names of SQLAlchemy's result, so callers need not know which
    kind of connection ran them."""

    def __init__(self, cursor: psycopg.Cursor):
        self.rowcount = cursor.rowcount
        self._rows = cursor.fetchall() if cursor.description is not None else []
        cursor.close()

    def all(self) -> list[tuple]:
        return self._rows

    def first(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def one(self) -> tuple:
        if len(self._rows) != 1:
            raise psycopg.ProgrammingError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalars(self) -> list:
        return [row[0] for row in self._rows]


def ident(name: str) -> str:
    """A quoted identifier (any name: the catalog also meets views and columns made by hand)."""
    return '"' + name.replace('"', '""') + '"'


def quoted(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


def literal(text: str) -> str:
    """A string constant (utility statements such as COMMENT take no parameters)."""
    return "'" + text.replace("'", "''") + "'"
