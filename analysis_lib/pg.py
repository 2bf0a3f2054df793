"""A psycopg connection without SQLAlchemy, for the commands that must answer at once (``status``, a
no-op ``build``): SQLAlchemy's import alone takes a good part of their time."""

from __future__ import annotations

import psycopg

from .errors import DatabaseUnavailable
from .settings import Settings, load_settings


def connect(settings: Settings | None = None) -> psycopg.Connection:
    """An autocommit connection (each statement its own transaction, so it never sits idle in one),
    with connection failures turned into a readable DatabaseUnavailable, as ``db.connect`` does."""
    settings = settings or load_settings()
    try:
        return psycopg.connect(settings.uri, autocommit=True)
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0]
        raise DatabaseUnavailable(f"cannot connect to {settings.target} ({settings.source}): {reason}") from None
