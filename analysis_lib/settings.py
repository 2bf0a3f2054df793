"""Where the database is: DATABASE_URL, or libpq's own PG* variables (and its password file).

In the lab container compose sets PGHOST, PGUSER, PGDATABASE and PGPASSFILE (the password file the
stack generates), so nothing has to be typed. On the host, DATABASE_URL is the usual route.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

DRIVER = "postgresql+psycopg"
READ_ONLY_USER = "analyst"
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}
# libpq variables that say which server to use; any of them means "configured through PG*".
_LIBPQ_TARGET_VARS = ("PGHOST", "PGHOSTADDR", "PGSERVICE", "PGPORT", "PGDATABASE")


@dataclass(frozen=True)
class Settings:
    """A libpq connection string (``postgresql://…``; nothing after ``//`` when libpq takes it all from
    PG*), where it came from, and user@host:port/database for messages (no password). Parsed by libpq
    itself, so that commands that talk to the database through psycopg alone (status, a no-op build)
    start without SQLAlchemy; ``url`` is made from libpq's reading of it, for the engine, so both
    always connect to the same place."""

    uri: str = field(repr=False)
    source: str
    target: str

    @property
    def url(self) -> URL:
        return _sqlalchemy_url(self.uri)


@functools.cache
def _sqlalchemy_url(uri: str) -> URL:
    from psycopg.conninfo import conninfo_to_dict
    from sqlalchemy.engine import URL

    parts = conninfo_to_dict(uri)
    port = parts.pop("port", None)
    return URL.create(
        DRIVER, username=parts.pop("user", None), password=parts.pop("password", None), host=parts.pop("host", None),
        port=int(port) if port else None, database=parts.pop("dbname", None), query=parts,
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the database settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    if env.get("DATABASE_URL"):
        uri, parts = _parse_database_url(env["DATABASE_URL"])
        return Settings(uri=uri, source="DATABASE_URL", target=_described(parts))
    if any(env.get(name) for name in _LIBPQ_TARGET_VARS):
        _check_libpq_environment(env)
        # An empty URL: libpq fills in host, port, user, database and password from PG* itself.
        target = _describe(env.get("PGUSER"), env.get("PGHOST"), env.get("PGPORT"), env.get("PGDATABASE"))
        return Settings(uri="postgresql://", source="PG* environment", target=target)
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
        uri, parts = _parse_database_url(env["ANALYST_DATABASE_URL"], "ANALYST_DATABASE_URL")
        return Settings(uri=uri, source="ANALYST_DATABASE_URL", target=_described(parts))
    owner = load_settings(env)
    return Settings(
        uri=f"postgresql://{READ_ONLY_USER}@",
        source=owner.source,
        target=_describe(READ_ONLY_USER, env.get("PGHOST"), env.get("PGPORT"), env.get("PGDATABASE")),
    )


def _describe(user, host, port, database) -> str:
    return f"{user or '?'}@{host or 'localhost'}:{port or 5432}/{database or '?'}"


def _described(parts: dict[str, str]) -> str:
    return _describe(parts.get("user"), parts.get("host"), parts.get("port"), parts.get("dbname"))


def _parse_database_url(raw: str, name: str = "DATABASE_URL") -> tuple[str, dict[str, str]]:
    """The URI as libpq reads it (scheme postgresql) and its parts, as libpq parses them."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    scheme, separator, rest = raw.partition("://")
    if not separator or not scheme or any(c.isspace() for c in scheme):
        raise ConfigError(f"{name} is not a database URL; expected postgresql://user:password@host:port/database")
    if scheme not in _POSTGRES_SCHEMES:
        raise ConfigError(
            f"{name} uses {scheme!r}; analysis_lib talks to PostgreSQL through psycopg 3: "
            "use postgresql://… or postgresql+psycopg://…"
        )
    uri = f"postgresql://{rest}"
    encode = "percent-encode special characters in the user and password (% as %25, / as %2F, @ as %40)"
    try:
        parts = conninfo_to_dict(uri)
    except ProgrammingError:
        raise ConfigError(
            f"{name} is not a database URL; expected postgresql://user:password@host:port/database ({encode})"
        ) from None
    if "," in parts.get("host", "") + parts.get("hostaddr", ""):
        raise ConfigError(f"{name} names several hosts: give one")
    if not str(parts.get("port", "5432")).isdigit():
        raise ConfigError(f"{name} has a port that is not a number ({encode})")
    return uri, parts


def _check_libpq_environment(env: Mapping[str, str]) -> None:
    port = env.get("PGPORT")
    if port is not None and not port.isdigit():
        raise ConfigError(f"PGPORT={port!r} is not a port number")
    passfile = env.get("PGPASSFILE")
    if passfile and not os.access(passfile, os.R_OK):
        reason = "does not exist" if not os.path.exists(passfile) else f"is not readable by uid {os.getuid()}"
        raise ConfigError(f"PGPASSFILE={passfile} {reason}")
