"""Statements sent as they are written (a recipe, a view's definition, a check of the user's)."""

from __future__ import annotations

import sqlalchemy as sa


def run(conn: sa.Connection, statement: str, parameters=None) -> sa.CursorResult:
    """``exec_driver_sql``; psycopg reads % as a placeholder even when there are no parameters, so a
    statement without them has its % doubled (``LIKE 'A%'`` in a recipe stays what it says)."""
    if parameters is None:
        return conn.exec_driver_sql(statement.replace("%", "%%"))
    return conn.exec_driver_sql(statement, parameters)


def ident(name: str) -> str:
    """A quoted identifier (any name: the catalog also meets views and columns made by hand)."""
    return '"' + name.replace('"', '""') + '"'
