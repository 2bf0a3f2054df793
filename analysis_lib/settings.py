"""Where the database is: DATABASE_URL, or libpq's own PG* variables (and its password file).

In the lab container compose sets PGHOST, PGUSER, PGDATABASE and PGPASSFILE (the password file the
stack generates), so nothing has to be typed. On the host, DATABASE_URL is the usual route.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigError

DRIVER = "postgresql+psycopg"
READ_ONLY_USER = "analyst"
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}
# libpq variables that say which server to use; any of them means "configured through PG*".
_LIBPQ_TARGET_VARS = ("PGHOST", "PGHOSTADDR", "PGSERVICE", "PGPORT", "PGDATABASE")


@dataclass(frozen=True)
class Settings:
    """A SQLAlchemy URL, where it came from, and user@host:port/database for messages (no password)."""

    url: URL
    source: str
    target: str


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the database settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    if env.get("DATABASE_URL"):
        url = _parse_database_url(env["DATABASE_URL"])
        target = _describe(url.username, url.host, url.port, url.database)
        return Settings(url=url, source="DATABASE_URL", target=target)
    if any(env.get(name) for name in _LIBPQ_TARGET_VARS):
        _check_libpq_environment(env)
        # An empty URL: libpq fills in host, port, user, database and password from PG* itself.
        target = _describe(env.get("PGUSER"), env.get("PGHOST"), env.get("PGPORT"), env.get("PGDATABASE"))
        return Settings(url=make_url(f"{DRIVER}://"), source="PG* environment", target=target)
    raise ConfigError(
        "no database configured: set DATABASE_URL (postgresql://user:password@host:port/database) "
        "or the PG* variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD or PGPASSFILE); "
        "inside the lab container these are set for you"
    )


def read_only_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The same database as load_settings, as the read-only role ``analyst``: ANALYST_DATABASE_URL
    next to DATABASE_URL, or PGUSER=analyst with the PG* variables (the password file has its line)."""
    env = os.environ if environ is None else environ
    if env.get("DATABASE_URL"):
        if not env.get("ANALYST_DATABASE_URL"):
            raise ConfigError("the read-only connection needs ANALYST_DATABASE_URL next to DATABASE_URL")
        url = _parse_database_url(env["ANALYST_DATABASE_URL"])
        return Settings(url=url, source="ANALYST_DATABASE_URL", target=_describe(url.username, url.host, url.port, url.database))
    owner = load_settings(env)
    return Settings(
        url=owner.url.set(username=READ_ONLY_USER),
        source=owner.source,
        target=_describe(READ_ONLY_USER, env.get("PGHOST"), env.get("PGPORT"), env.get("PGDATABASE")),
    )


def _describe(user, host, port, database) -> str:
    return f"{user or '?'}@{host or 'localhost'}:{port or 5432}/{database or '?'}"


def _parse_database_url(raw: str) -> URL:
    try:
        url = make_url(raw)
    except ValueError:
        raise ConfigError("DATABASE_URL has a port that is not a number") from None
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL is not a database URL; expected postgresql://user:password@host:port/database"
        ) from None
    if url.drivername not in _POSTGRES_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL uses {url.drivername!r}; analysis_lib talks to PostgreSQL through psycopg 3: "
            "use postgresql://… or postgresql+psycopg://…"
        )
    return url.set(drivername=DRIVER)


def _check_libpq_environment(env: Mapping[str, str]) -> None:
    port = env.get("PGPORT")
    if port is not None and not port.isdigit():
        raise ConfigError(f"PGPORT={port!r} is not a port number")
    passfile = env.get("PGPASSFILE")
    if passfile and not os.access(passfile, os.R_OK):
        reason = "does not exist" if not os.path.exists(passfile) else f"is not readable by uid {os.getuid()}"
        raise ConfigError(f"PGPASSFILE={passfile} {reason}")
