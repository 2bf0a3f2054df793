"""Fast reads from PostGIS into (Geo)DataFrames: ADBC's Arrow result, geometries decoded by shapely.

Types survive the trip: integers stay integers (nullable Int64 when there are NULLs), booleans,
text, timestamptz (UTC), dates, numeric (Decimal), jsonb (dicts and lists), arrays (lists) and
geometries and geographies (shapely, each column with the CRS of its SRID).

Every column of the result is kept: where a join returns two columns of one name (``a.id, b.id``,
or ``geom`` from both sides of ``SELECT *``), the later ones are suffixed ``_2``, ``_3``, … in the
order of the select list, with a warning that names them.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import adbc_driver_manager
import geopandas as gpd
import pandas as pd
import pyarrow as pa

from . import wkb
from .db import adbc_connection
from .errors import QueryError
from .geometry import resolve_crs
from .identifiers import checked_name, unique_names
from .sql_parameters import bind

_TABLE_NAME = re.compile(r"(?:([a-z_][a-z0-9_]*)\.)?([a-z_][a-z0-9_]*)")
_GEOMETRY_TYPES = ("geometry", "geography")


def read(
    sql_or_table: str,
    params: Mapping[str, Any] | None = None,
    *,
    geometry: str | None = "auto",
    crs=None,
) -> pd.DataFrame | gpd.GeoDataFrame:
    """Run a query (``:name`` placeholders) or read a whole table (``'buurten'``, ``'schema.table'``).

    ``params`` must give a value for every ``:name`` and nothing else (QueryError otherwise).
    ``geometry='auto'`` returns a GeoDataFrame when the result has geometry columns, each with the CRS
    of its SRID (the first one is active), a column name picks the active one, ``None`` returns a
    DataFrame with WKB bytes. ``crs`` sets the CRS of geometries that carry no SRID.
    """
    table = _unique_names(_arrow_result(_statement(sql_or_table), params))
    geometry_columns = [f.name for f in table.schema if _postgres_type(f) in _GEOMETRY_TYPES]
    if geometry is None or (geometry == "auto" and not geometry_columns):
        return _to_pandas(table)
    if geometry != "auto" and geometry not in geometry_columns:
        raise QueryError(f"geometry={geometry!r} is not a geometry column of the result; those are {geometry_columns}")
    active = geometry_columns[0] if geometry == "auto" else geometry
    frame = _to_pandas(table.drop_columns(geometry_columns))
    for name in geometry_columns:
        geometries, srids = wkb.decode(table.column(name))
        srid = _single_srid(srids, name)
        column_crs = f"EPSG:{srid}" if srid is not None else resolve_crs(crs, "crs") if crs is not None else None
        frame.insert(table.schema.get_field_index(name), name, gpd.GeoSeries(geometries, index=frame.index, crs=column_crs))
    return gpd.GeoDataFrame(frame, geometry=active)


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
    statement, values = bind(sql, params)
    try:
        with adbc_connection() as connection, connection.cursor() as cursor:
            cursor.execute(statement, parameters=values or None)
            return cursor.fetch_arrow_table()
    except adbc_driver_manager.Error as error:
        message = next((line for line in str(error).splitlines() if "ERROR:" in line), str(error).splitlines()[0])
        raise QueryError(f"the query failed: {message.split('ERROR:', 1)[-1].strip()}") from None


def _unique_names(table: pa.Table) -> pa.Table:
    """``table`` with repeated column names suffixed _2, _3, … (a name already in the result is skipped)."""
    names = table.column_names
    unique = unique_names(names)
    if unique == names:
        return table
    renamed = [f"{old} -> {new}" for old, new in zip(names, unique, strict=True) if old != new]
    warnings.warn(
        f"the result has several columns of one name; the later ones are renamed: {', '.join(renamed)}"
        " (give them names of their own with AS in the SELECT to choose)",
        stacklevel=3,
    )
    return table.rename_columns(unique)


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
