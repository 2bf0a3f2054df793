"""Backups with pg_dump's custom format, and restores that refuse to overwrite unless told to.

Run where the PostgreSQL client matches the server (the lab container has pg_dump 17):
``docker compose exec lab analysis-lib backup``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from psycopg.conninfo import make_conninfo

from .db import connect
from .errors import AnalysisLibError
from .settings import Settings, load_settings

_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# What backup() names its dumps; rotation deletes only files named so, never a user's own dumps.
_OWN_DUMP = re.compile(r"\d{8}T\d{12}Z\.dump")
# The stack's event trigger and its function belong to the server's superuser and are in every database
# made from template_postgis already.
_ADMIN_SCHEMA = "workbench_admin"
# DATABASE_URL parameters and the libpq variables that say the same
_LIBPQ_VARIABLES = {
    "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT", "application_name": "PGAPPNAME", "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS", "gssencmode": "PGGSSENCMODE",
    "host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "dbname": "PGDATABASE",
}


class BackupError(AnalysisLibError):
    """A backup or restore could not be made; nothing was overwritten."""


@dataclass(frozen=True)
class Restored:
    database: str
    tables: int


def backup(directory: str | os.PathLike = "backups", *, keep: int = 7) -> Path:
    """Dump the database to ``directory/<UTC timestamp>.dump`` and keep only the newest ``keep`` dumps
    that backup() wrote (other files in the folder are left alone)."""
    if keep < 1:
        raise BackupError(f"keep={keep}: keep at least one backup")
    settings = load_settings()
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"cannot create the backup folder {folder}: {error.strerror}") from None
    target = folder / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}.dump"
    partial = target.with_suffix(".partial")
    try:
        _run(["pg_dump", "--format=custom", f"--exclude-schema={_ADMIN_SCHEMA}", f"--file={partial}"], "pg_dump", settings)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(target)  # a dump is either complete or absent
    for old in sorted(path for path in folder.glob("*.dump") if _OWN_DUMP.fullmatch(path.name))[:-keep]:
        old.unlink()
    return target


def restore(path: str | os.PathLike, *, database: str | None = None, force: bool = False) -> Restored:
    """Restore a dump into ``database`` (default: the configured one), created when it does not exist.

    A database that already holds tables is only overwritten with ``force=True``; then the dump's
    tables replace theirs namesakes, other tables stay.
    """
    settings = load_settings()
    dump = Path(path)
    if not dump.is_file():
        raise BackupError(f"{dump}: no such backup")
    contents = _run(["pg_restore", "--list", str(dump)], "pg_restore", failure=f"{dump} is not a pg_dump custom-format backup")
    with connect(settings) as conn:
        current = conn.execute(sa.text("SELECT current_database()")).scalar()
    target = database or current
    if not _DATABASE_NAME.fullmatch(target):
        raise BackupError(f"database name {target!r} is not allowed: use lower-case letters, digits and _")
    if not _exists(settings, target):
        _create(settings, target)
    tables = _table_count(settings, target)
    if tables and not force:
        raise BackupError(f"database {target} already has {tables} tables; pass force=True (--force) to overwrite them")
    with tempfile.NamedTemporaryFile("w", suffix=".list") as selection:
        # in every database made from template_postgis already, and the superuser's to restore
        kept = [line for line in contents.splitlines() if not _superusers(line)]
        selection.write("".join(line + "\n" for line in kept))
        selection.flush()
        options = ["--clean", "--if-exists"] if tables else []
        _run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", f"--use-list={selection.name}",
             *options, f"--dbname={target}", str(dump)],
            "pg_restore", _for_database(settings, target),
        )
    return Restored(database=target, tables=_table_count(settings, target))


def _superusers(line: str) -> bool:
    """The dump's entries that only the server's superuser may restore: PostGIS, the event trigger and
    its schema, and the privileges on PostgreSQL's own functions (large objects: see roles.sql)."""
    parts = (" EXTENSION ", "spatial_ref_sys", " EVENT TRIGGER ", f" {_ADMIN_SCHEMA} ", " ACL pg_catalog ")
    return any(part in line for part in parts)


def _run(command: list[str], tool: str, settings: Settings | None = None, *, failure: str | None = None) -> str:
    """Run a PostgreSQL client tool against ``settings``' database. The connection reaches it through
    libpq's environment and, for DATABASE_URL, a password file: never on the command line, which
    every user of the machine can read in ``ps``."""
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed here; run this in the lab container: docker compose exec lab analysis-lib …")
    with tempfile.TemporaryDirectory(prefix="analysis-lib-") as private:
        environment = _libpq_environment(settings, Path(private)) if settings else dict(os.environ)
        done = subprocess.run(command, capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        detail = next((line for line in done.stderr.splitlines() if line.strip()), f"exit code {done.returncode}")
        raise BackupError(failure or f"{tool} failed: {detail}")
    return done.stdout


def _libpq_environment(settings: Settings, private: Path) -> dict[str, str]:
    """PG* variables for ``settings``: with PG* settings the environment already says everything but
    the database; a DATABASE_URL becomes PGHOST … PGDATABASE and a password file only we can read."""
    environment = dict(os.environ)
    environment.pop("DATABASE_URL", None)
    url = settings.url
    if settings.source == "PG* environment":
        if url.database:
            environment["PGDATABASE"] = url.database
        return environment
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username), ("PGDATABASE", url.database)):
        if value is not None:
            environment[name] = str(value)
    for name, value in url.query.items():
        if name not in _LIBPQ_VARIABLES:
            raise BackupError(f"DATABASE_URL: the parameter {name}= has no libpq variable that pg_dump could take it from")
        environment[_LIBPQ_VARIABLES[name]] = value if isinstance(value, str) else value[-1]
    if url.password is not None:
        passfile = private / "pgpass"
        passfile.touch(mode=0o600)
        passfile.write_text(f"*:*:*:*:{_pgpass_escaped(url.password)}\n")
        environment["PGPASSFILE"] = str(passfile)
        environment.pop("PGPASSWORD", None)
    return environment


def _pgpass_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:")


def _exists(settings: Settings, database: str) -> bool:
    with connect(settings) as conn:
        return bool(conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).scalar())


def _create(settings: Settings, database: str) -> None:
    """A new database with PostGIS in it, from the template the db image makes (template_postgis)."""
    with connect(settings) as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn.execute(sa.text(f'CREATE DATABASE "{database}" TEMPLATE template_postgis'))
        except sa.exc.DBAPIError as error:
            raise BackupError(f"cannot create database {database}: {str(error.orig).splitlines()[0]}") from None


def _table_count(settings: Settings, database: str) -> int:
    with connect(_for_database(settings, database)) as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                " AND tablename <> 'spatial_ref_sys'"
            )
        ).scalar()


def _for_database(settings: Settings, database: str) -> Settings:
    target = f"{settings.target.rsplit('/', 1)[0]}/{database}"
    return Settings(uri=make_conninfo(settings.uri, dbname=database), source=settings.source, target=target)
