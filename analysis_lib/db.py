"""The database connection and plain query helpers (SQLAlchemy 2 + psycopg 3)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .errors import DatabaseUnavailable, PostGISMissing, QueryError
from .settings import Settings, load_settings


def engine(settings: Settings | None = None) -> Engine:
    """The shared engine for ``settings`` (default: from the environment).

    ``pool_pre_ping`` replaces connections that died, e.g. when the db container restarted.
    """
    return _engine_for(settings or load_settings())


@functools.cache
def _engine_for(settings: Settings) -> Engine:
    return sa.create_engine(settings.url, pool_pre_ping=True)


def connect(settings: Settings | None = None) -> sa.Connection:
    """An open connection, with connection failures turned into a readable DatabaseUnavailable."""
    settings = settings or load_settings()
    try:
        return engine(settings).connect()
    except sa.exc.OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseUnavailable(f"cannot connect to {settings.target} ({settings.source}): {reason}") from None


def read_sql(sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run ``sql`` (``:name`` placeholders filled from ``params``) and return a DataFrame."""
    frame, _ = _query(sql, params)
    return frame


def read_geo(sql: str, params: Mapping[str, Any] | None = None, *, geom_col: str | None = None) -> gpd.GeoDataFrame:
    """Run ``sql`` and return a GeoDataFrame; its CRS is the geometry column's SRID.

    Every PostGIS geometry column becomes shapely geometries; the active one is ``geom_col`` or the first.
    """
    frame, geometry_columns = _query(sql, params)
    if not geometry_columns:
        raise QueryError("the query returns no geometry column; use read_sql for plain tables")
    if geom_col is None:
        geom_col = geometry_columns[0]
    elif geom_col not in geometry_columns:
        raise QueryError(f"geom_col={geom_col!r} is not a geometry column of the query; those are {geometry_columns}")
    srid = None
    for name in geometry_columns:
        geometries = shapely.from_wkb(frame[name].to_numpy(dtype=object))
        if name == geom_col:
            srid = _single_srid(geometries, name)
        frame[name] = gpd.GeoSeries(geometries, index=frame.index)
    return gpd.GeoDataFrame(frame, geometry=geom_col, crs=f"EPSG:{srid}" if srid else None)


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


def _query(sql: str, params: Mapping[str, Any] | None) -> tuple[pd.DataFrame, list[str]]:
    with connect() as conn:
        geometry_oid = conn.execute(sa.text("SELECT to_regtype('geometry')::oid")).scalar()
        result = conn.execute(sa.text(sql), dict(params or {}))
        if not result.returns_rows:
            raise QueryError("the statement returns no rows; read_sql and read_geo are for queries")
        description = result.cursor.description
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()), coerce_float=True)
    geometry_columns = [column.name for column in description if geometry_oid and column.type_code == geometry_oid]
    return frame, geometry_columns


def _single_srid(geometries, column: str) -> int | None:
    srids = set(shapely.get_srid(geometries[~shapely.is_missing(geometries)]).tolist())
    if len(srids) > 1:
        raise QueryError(f"column {column!r} mixes SRIDs {sorted(srids)}; ST_Transform it to one CRS in the query")
    srid = srids.pop() if srids else 0
    return srid or None
