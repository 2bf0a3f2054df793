"""Fast reads from PostGIS into (Geo)DataFrames: ADBC's Arrow result, geometries decoded by shapely.

Types survive the trip: integers stay integers (nullable Int64 when there are NULLs), booleans,
text, timestamptz (UTC), dates, numeric (Decimal), jsonb (dicts and lists), arrays (lists) and
geometries (shapely, CRS from the column's SRID).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import adbc_driver_manager
import geopandas as gpd
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from . import wkb
from .db import adbc_connection
from .errors import QueryError
from .geometry import resolve_crs
from .identifiers import checked_name

_TABLE_NAME = re.compile(r"(?:([a-z_][a-z0-9_]*)\.)?([a-z_][a-z0-9_]*)")
_DIALECT = postgresql.dialect(paramstyle="numeric_dollar")


def read(
    sql_or_table: str,
    params: Mapping[str, Any] | None = None,
    *,
    geometry: str | None = "auto",
    crs=None,
) -> pd.DataFrame | gpd.GeoDataFrame:
    """Run a query (``:name`` placeholders) or read a whole table (``'buurten'``, ``'schema.table'``).

    ``geometry='auto'`` returns a GeoDataFrame when the result has a geometry column (the first one
    is active), a column name picks the active one, ``None`` returns a DataFrame with WKB bytes.
    ``crs`` sets the CRS when the geometries carry no SRID.
    """
    table = _arrow_result(_statement(sql_or_table), params)
    geometry_columns = [f.name for f in table.schema if _postgres_type(f) == "geometry"]
    if geometry is None or (geometry == "auto" and not geometry_columns):
        return _to_pandas(table)
    if geometry != "auto" and geometry not in geometry_columns:
        raise QueryError(f"geometry={geometry!r} is not a geometry column of the result; those are {geometry_columns}")
    active = geometry_columns[0] if geometry == "auto" else geometry
    frame = _to_pandas(table.drop_columns(geometry_columns))
    srid = None
    for name in geometry_columns:
        geometries, srids = wkb.decode(table.column(name))
        if name == active:
            srid = _single_srid(srids, name)
        frame.insert(table.schema.get_field_index(name), name, gpd.GeoSeries(geometries, index=frame.index))
    if srid is not None:
        result_crs = f"EPSG:{srid}"
    elif crs is not None:
        result_crs = resolve_crs(crs, "crs")
    else:
        result_crs = None
    return gpd.GeoDataFrame(frame, geometry=active, crs=result_crs)


def read_sql(sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run ``sql`` (``:name`` placeholders filled from ``params``) and return a DataFrame."""
    return read(sql, params, geometry=None)


def read_geo(sql: str, params: Mapping[str, Any] | None = None, *, geom_col: str | None = None) -> gpd.GeoDataFrame:
    """Run ``sql`` and return a GeoDataFrame (active geometry: ``geom_col`` or the first one)."""
    frame = read(sql, params, geometry=geom_col or "auto")
    if not isinstance(frame, gpd.GeoDataFrame):
        raise QueryError("the query returns no geometry column; use read_sql for plain tables")
    return frame


def _statement(sql_or_table: str) -> str:
    match = _TABLE_NAME.fullmatch(sql_or_table.strip())
    if not match:
        return sql_or_table
    schema, table = match.groups()
    checked_name(table, "table name")
    qualified = f'"{schema}"."{table}"' if schema else f'"{table}"'
    return f"SELECT * FROM {qualified}"


def _arrow_result(sql: str, params: Mapping[str, Any] | None) -> pa.Table:
    statement, values = _bind(sql, params)
    try:
        with adbc_connection() as connection, connection.cursor() as cursor:
            cursor.execute(statement, parameters=values or None)
            return cursor.fetch_arrow_table()
    except adbc_driver_manager.Error as error:
        message = next((line for line in str(error).splitlines() if "ERROR:" in line), str(error).splitlines()[0])
        raise QueryError(f"the query failed: {message.split('ERROR:', 1)[-1].strip()}") from None


def _bind(sql: str, params: Mapping[str, Any] | None) -> tuple[str, tuple]:
    """``:name`` placeholders -> ``$1`` and a value tuple, by SQLAlchemy's own parser (``::cast`` safe)."""
    if not params:
        return sql, ()
    compiled = sa.text(sql).bindparams(**params).compile(dialect=_DIALECT)
    return str(compiled), tuple(compiled.params[name] for name in compiled.positiontup)


def _postgres_type(field: pa.Field) -> str | None:
    metadata = field.metadata or {}
    return (metadata.get(b"POSTGRESQL:type") or b"").decode() or None


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    columns = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        columns[field.name] = _column_to_pandas(field, column)
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def _column_to_pandas(field: pa.Field, column: pa.ChunkedArray):
    pg_type = _postgres_type(field)
    if isinstance(column.type, pa.ExtensionType):
        column = pa.chunked_array([chunk.storage for chunk in column.chunks], type=column.type.storage_type)
    if pg_type in ("json", "jsonb"):
        return pd.Series([None if v is None else json.loads(v) for v in column.to_pylist()], dtype=object)
    if pg_type == "numeric":
        return pd.Series([None if v is None else Decimal(v) for v in column.to_pylist()], dtype=object)
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return pd.Series(column.to_pylist(), dtype=object)
    if column.null_count and (pa.types.is_integer(column.type) or pa.types.is_boolean(column.type)):
        return column.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get if pa.types.is_boolean(column.type) else _nullable_int)
    if pa.types.is_binary(column.type):
        return pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
    return column.to_pandas()


def _nullable_int(arrow_type: pa.DataType):
    return pd.Int64Dtype() if pa.types.is_integer(arrow_type) else None


def _single_srid(srids: set[int], column: str) -> int | None:
    if len(srids) > 1:
        raise QueryError(f"column {column!r} mixes SRIDs {sorted(srids)}; ST_Transform it to one CRS in the query")
    return (srids.pop() if srids else 0) or None
