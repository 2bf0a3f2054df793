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

from .db import connect
from .errors import AnalysisLibError
from .settings import Settings, load_settings

_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class BackupError(AnalysisLibError):
    """A backup or restore could not be made; nothing was overwritten."""


@dataclass(frozen=True)
class Restored:
    database: str
    tables: int


def backup(directory: str | os.PathLike = "backups", *, keep: int = 7) -> Path:
    """Dump the database to ``directory/<UTC timestamp>.dump`` and keep only the newest ``keep`` dumps."""
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
        _run(["pg_dump", "--format=custom", f"--file={partial}", *_connection_arguments(settings)], "pg_dump")
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(target)  # a dump is either complete or absent
    for old in sorted(folder.glob("*.dump"))[:-keep]:
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
    contents = _run(["pg_restore", "--list", str(dump)], "pg_restore", f"{dump} is not a pg_dump custom-format backup")
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
        # PostGIS and its spatial_ref_sys belong to the server's superuser and are in every database
        # made from template_postgis already: leave them out
        kept = [line for line in contents.splitlines() if " EXTENSION " not in line and "spatial_ref_sys" not in line]
        selection.write("".join(line + "\n" for line in kept))
        selection.flush()
        options = ["--clean", "--if-exists"] if tables else []
        _run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", f"--use-list={selection.name}",
             *options, *_connection_arguments(settings, database=target), str(dump)],
            "pg_restore",
        )
    return Restored(database=target, tables=_table_count(settings, target))


def _connection_arguments(settings: Settings, *, database: str | None = None) -> list[str]:
    """libpq takes the URI as dbname; with PG* variables the environment already says everything."""
    if settings.source == "DATABASE_URL":
        url = settings.url.set(drivername="postgresql")
        if database:
            url = url.set(database=database)
        return [f"--dbname={url.render_as_string(hide_password=False)}"]
    return [f"--dbname={database}"] if database else []


def _run(command: list[str], tool: str, failure: str | None = None) -> str:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed here; run this in the lab container: docker compose exec lab analysis-lib …")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        detail = next((line for line in done.stderr.splitlines() if line.strip()), f"exit code {done.returncode}")
        raise BackupError(failure or f"{tool} failed: {detail}")
    return done.stdout


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
    return Settings(url=settings.url.set(database=database), source=settings.source, target=target)
