"""The database connection: settings to SQLAlchemy engine (psycopg 3) or ADBC URI, and a health check."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .errors import DatabaseUnavailable, PostGISMissing
from .settings import Settings, load_settings, read_only_settings


def engine(settings: Settings | None = None) -> Engine:
    """The shared engine for ``settings`` (default: from the environment).

    ``pool_pre_ping`` replaces connections that died, e.g. when the db container restarted.
    """
    return _engine_for(settings or load_settings())


def read_only_engine() -> Engine:
    """The shared engine of the read-only role (see settings.read_only_settings)."""
    return _engine_for(read_only_settings())


@functools.cache
def _engine_for(settings: Settings) -> Engine:
    return sa.create_engine(settings.url, pool_pre_ping=True)


def adbc_uri(settings: Settings | None = None) -> str:
    """A libpq URI for ADBC: DATABASE_URL as given, or an empty one that libpq completes from PG*."""
    settings = settings or load_settings()
    return settings.url.set(drivername="postgresql").render_as_string(hide_password=False)


def adbc_connect(settings: Settings | None = None):
    """An ADBC (Arrow) connection, with connection failures turned into DatabaseUnavailable."""
    settings = settings or load_settings()
    try:
        return adbc.connect(adbc_uri(settings))
    except adbc_driver_manager.Error as error:
        reason = str(error).strip().splitlines()[0]
        raise DatabaseUnavailable(f"cannot connect to {settings.target} ({settings.source}): {reason}") from None


def connect(settings: Settings | None = None) -> sa.Connection:
    """An open connection, with connection failures turned into a readable DatabaseUnavailable."""
    settings = settings or load_settings()
    try:
        return engine(settings).connect()
    except sa.exc.OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseUnavailable(f"cannot connect to {settings.target} ({settings.source}): {reason}") from None


@dataclass(frozen=True)
class ServerInfo:
    server_version: str
    postgis_version: str
    current_user: str
    database: str


def server_info(settings: Settings | None = None) -> ServerInfo:
    """Server and PostGIS versions and the login; PostGISMissing when the extension is absent."""
    with connect(settings) as conn:
        row = conn.execute(
            sa.text(
                "SELECT current_setting('server_version'), current_user, current_database(),"
                " (SELECT extversion FROM pg_extension WHERE extname = 'postgis')"
            )
        ).one()
    server_version, user, database, postgis_version = row
    if postgis_version is None:
        raise PostGISMissing(
            f"PostGIS is not installed in database {database!r}: run CREATE EXTENSION postgis as its owner"
        )
    return ServerInfo(server_version, postgis_version, user, database)
