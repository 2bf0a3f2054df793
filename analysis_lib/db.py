"""The database connection: settings to SQLAlchemy engine (psycopg 3) or ADBC connection, and a health check."""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .errors import DatabaseUnavailable, PostGISMissing
from .settings import Settings, load_settings, read_only_settings

if TYPE_CHECKING:
    import adbc_driver_postgresql.dbapi as adbc


def _adbc():
    """ADBC, imported when first used: commands that only use SQLAlchemy (status, build's bookkeeping)
    start without it."""
    import adbc_driver_postgresql.dbapi

    return adbc_driver_postgresql.dbapi


def _adbc_error() -> type[Exception]:
    import adbc_driver_manager

    return adbc_driver_manager.Error


def engine(settings: Settings | None = None) -> Engine:
    """The shared engine for ``settings`` (default: from the environment).

    ``pool_pre_ping`` replaces connections that died, e.g. when the db container restarted.
    """
    return _engine_for(settings or load_settings())


def read_only_engine() -> Engine:
    """The shared engine of the read-only role (see settings.read_only_settings). It has nothing to
    commit, so every statement is its own transaction: a connection a notebook keeps never sits idle
    in a transaction, holding locks that a load would wait for."""
    return _engine_for(read_only_settings(), autocommit=True)


@functools.cache
def _engine_for(settings: Settings, *, autocommit: bool = False) -> Engine:
    if autocommit:
        return sa.create_engine(settings.url, pool_pre_ping=True, isolation_level="AUTOCOMMIT")
    made = sa.create_engine(settings.url, pool_pre_ping=True)
    made._connection_cls = ReadsEndTheirTransaction  # what made.connect() returns (test_connections fails if this moves)
    return made


class ReadsEndTheirTransaction(sa.Connection):
    """A connection whose read that began a transaction also ends it, so a connection a notebook
    keeps after ``pd.read_sql(q, conn)`` holds no snapshot and no lock a load would wait for.

    Only a transaction the statement itself began is committed, and only when it returned rows
    already fetched, wrote nothing (PostgreSQL assigned it no transaction id), runs read committed and
    holds no advisory lock. Explicit transactions (``with conn.begin():``), statements after a write
    ("commit as you go"), streamed results and repeatable-read snapshots are left as they are. A
    ``set_config(…, true)`` in a SELECT lasts only for that statement here: put it in ``begin()``.
    """

    def _execute_context(self, *args, **kwargs):
        # every execute(), scalar(), exec_driver_sql() and inspector query passes through here
        began_here = not self.in_transaction()
        result = super()._execute_context(*args, **kwargs)
        if began_here and self._only_read(result):
            self.commit()
        return result

    def _only_read(self, result) -> bool:
        if not (self.in_transaction() and not self.in_nested_transaction() and result.returns_rows):
            return False
        options = result.context.execution_options
        if options.get("stream_results") or options.get("yield_per"):
            return False
        if options.get("isolation_level", "READ COMMITTED") != "READ COMMITTED":
            return False
        # the server's word: nothing written, read committed (also by default_transaction_isolation), and
        # no advisory lock held (pg_advisory_xact_lock in a SELECT would end with the transaction)
        return bool(self.exec_driver_sql(
            "SELECT pg_current_xact_id_if_assigned() IS NULL AND current_setting('transaction_isolation') = 'read committed'"
            " AND NOT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory')").scalar())


def adbc_uri(settings: Settings | None = None) -> str:
    """A libpq URI for ADBC: DATABASE_URL as given, or an empty one that libpq completes from PG*."""
    return (settings or load_settings()).uri


def adbc_connect(settings: Settings | None = None):
    """An ADBC (Arrow) connection, with connection failures turned into DatabaseUnavailable."""
    settings = settings or load_settings()
    try:
        return _adbc().connect(adbc_uri(settings))
    except _adbc_error() as error:
        reason = str(error).strip().splitlines()[0]
        raise DatabaseUnavailable(f"cannot connect to {settings.target} ({settings.source}): {reason}") from None


@contextlib.contextmanager
def adbc_connection(settings: Settings | None = None) -> Iterator[adbc.Connection]:
    """An ADBC connection for one piece of work, reused from earlier calls in this process when one is
    still alive (opening one costs ~60 ms: authentication and the driver's type lookup; the first
    geometry ~13 ms more, as each server process loads PostGIS). Commit inside if the work writes.
    After a clean exit the connection is rolled back, so no transaction, lock or setting outlives the
    call, and kept; after an exception it is closed, whatever state it was left in."""
    settings = settings or load_settings()
    key = _session_key(settings)
    connection = _idle.take(key) or adbc_connect(settings)
    try:
        yield connection
    except BaseException:
        _close_quietly(connection)
        raise
    _idle.give_back(key, connection)


def _session_key(settings: Settings) -> str:
    """What a new connection would be: the URI and the PG* variables libpq completes it from, hashed so
    that no password sits in a key that a traceback with locals could print."""
    libpq_environment = sorted((name, value) for name, value in os.environ.items() if name.startswith("PG"))
    return hashlib.sha256(repr((adbc_uri(settings), libpq_environment)).encode()).hexdigest()


def _close_quietly(connection: adbc.Connection) -> None:
    """Roll back and close; a connection that is already gone has nothing left to undo."""
    for step in (connection.rollback, connection.close):
        with contextlib.suppress(_adbc_error()):
            step()


class _IdleConnections:
    """This process's idle ADBC connections, by what they connect to (see _session_key)."""

    def __init__(self, keep_per_key: int = 4):
        self.keep_per_key = keep_per_key
        self._by_key: dict[str, list[adbc.Connection]] = {}
        self._lock = threading.Lock()
        self._inherited: list[adbc.Connection] = []

    def take(self, key: str) -> adbc.Connection | None:
        """A live idle connection, or None; dead ones (server restarted, session killed) are dropped."""
        while True:
            with self._lock:
                idle = self._by_key.get(key)
                if not idle:
                    return None
                connection = idle.pop()
            if _answers(connection):
                return connection
            _close_quietly(connection)

    def give_back(self, key: str, connection: adbc.Connection) -> None:
        try:
            connection.rollback()
        except _adbc_error():
            _close_quietly(connection)
            return
        with self._lock:
            idle = self._by_key.setdefault(key, [])
            if len(idle) < self.keep_per_key:
                idle.append(connection)
                return
        _close_quietly(connection)

    def close_all(self) -> None:
        with self._lock:
            connections = [c for idle in self._by_key.values() for c in idle]
            self._by_key.clear()
        for connection in connections:
            _close_quietly(connection)

    def forget_after_fork(self) -> None:
        """In a forked child the parent's connections share the parent's sockets: closing one here would
        end the parent's session, so the child keeps them unused and opens its own."""
        self._inherited.extend(c for idle in self._by_key.values() for c in idle)
        self._by_key = {}
        self._lock = threading.Lock()


def _answers(connection: adbc.Connection) -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        return True
    except _adbc_error():
        return False


_idle = _IdleConnections()
os.register_at_fork(after_in_child=_idle.forget_after_fork)
atexit.register(_idle.close_all)


def connect(settings: Settings | None = None) -> sa.Connection:
    """An open connection, with connection failures turned into a readable DatabaseUnavailable.

    A read that begins a transaction ends it (see ReadsEndTheirTransaction), so a connection kept
    open in a notebook holds no lock after a read; writes wait for ``commit()`` as usual, and
    ``with conn.begin():`` stays one transaction."""
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
