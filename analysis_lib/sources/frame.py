"""pandas DataFrames and GeoDataFrames, typed once for the whole frame (pandas' dtypes, and for object
columns every value), never by a first slice: a text column that is None for 50,000 rows is text.

A frame goes to the writer in slices of at most FRAME_CHUNK_ROWS rows or FRAME_CHUNK_COORDINATES
coordinates, so big shapes make smaller slices: memory per slice stays bounded and the copy starts
early. Object columns of dicts (or of lists holding dicts or lists) are JSON.
"""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from ..errors import LoadError
from .geometries import Decoded
from .json_text import json_texts
from .source import Column, OwnGeometry, RawBatch, Source

FRAME_CHUNK_ROWS = 50_000
FRAME_CHUNK_COORDINATES = 300_000
_CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


def open_frame(frame: pd.DataFrame) -> Source:
    if not isinstance(frame, pd.DataFrame):
        raise LoadError(f"load() takes a pandas DataFrame or GeoDataFrame, not {type(frame).__name__}")
    if not frame.columns.is_unique:
        repeated = sorted({str(n) for n in frame.columns[frame.columns.duplicated()]})
        raise LoadError(f"the DataFrame has several columns named {', '.join(repeated)}; give each column a name of its own")
    geometry_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame else None
    attribute_names = [name for name in frame.columns if name != geometry_name]
    json_names = {name for name in attribute_names if _holds_json(frame[name])}
    schema = _schema(frame, attribute_names, json_names)
    geometries = frame[geometry_name].to_numpy() if geometry_name is not None else None
    geometry = None
    if geometry_name is not None:
        crs = pyproj.CRS(frame.crs) if frame.crs is not None else None
        geometry = OwnGeometry(name=str(geometry_name), crs=crs, values=geometries)
    columns = [Column(str(name), schema.field(str(name)).type, json=name in json_names) for name in attribute_names]

    def read(names: list[str], make_valid: bool) -> Iterator[RawBatch]:
        count_coordinates = geometries is not None and not _points_only(geometries)
        for start, stop in slices(len(frame), geometries if count_coordinates else None):
            chunk = pd.DataFrame(frame.iloc[start:stop][attribute_names])
            chunk.columns = [str(n) for n in attribute_names]
            for name in json_names:
                chunk[str(name)] = json_texts(chunk[str(name)], where="the DataFrame", column=str(name), first_row=start + 1)
            table = _to_arrow(chunk, schema, first_row=start + 1).select(names)
            decoded = Decoded(geometries[start:stop]) if geometries is not None else None
            yield RawBatch(table=table, geometries=decoded, first_row=start + 1)

    name = "the GeoDataFrame" if isinstance(frame, gpd.GeoDataFrame) else "the DataFrame"
    return Source(name=name, columns=columns, read=read, geometry=geometry, total=len(frame))


def slices(rows: int, geometries: np.ndarray | None) -> Iterator[tuple[int, int]]:
    """(start, stop) of each slice: FRAME_CHUNK_ROWS rows, fewer when the coordinates of ``geometries``
    (None: not counted, as for points) pass FRAME_CHUNK_COORDINATES (but never less than one row)."""
    start = 0
    while start < rows:
        stop = min(start + FRAME_CHUNK_ROWS, rows)
        if geometries is not None:
            coordinates = np.cumsum(shapely.get_num_coordinates(geometries[start:stop]))
            stop = start + max(1, int(np.searchsorted(coordinates, FRAME_CHUNK_COORDINATES, side="right")))
        yield start, stop
        start = stop


def _points_only(geometries: np.ndarray) -> bool:
    types = shapely.get_type_id(geometries)
    return bool(((types == shapely.GeometryType.POINT) | (types < 0)).all())


def _holds_json(series: pd.Series) -> bool:
    """An object column holding dicts, or lists holding dicts or lists: stored as jsonb."""
    if series.dtype != object:
        return False
    return any(isinstance(v, dict) or (isinstance(v, list) and not _is_flat_list(v)) for v in series.dropna())


def _is_flat_list(value) -> bool:
    return all(not isinstance(item, dict | list) for item in value)


def _schema(frame: pd.DataFrame, names: list, json_names: set) -> pa.Schema:
    """One Arrow schema for the whole frame."""
    fields = []
    for name in names:
        if name in json_names:
            fields.append(pa.field(str(name), pa.string()))
            continue
        try:
            field = pa.Schema.from_pandas(frame[[name]], preserve_index=False).field(0)
        except _CONVERSION_ERRORS as error:
            raise LoadError(f"cannot convert the data: {_where_conversion_fails(frame[[name]], 1)}{error.args[0]}") from None
        arrow_type = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        fields.append(pa.field(str(name), pa.string() if pa.types.is_null(arrow_type) else arrow_type))
    return pa.schema(fields)


def _to_arrow(chunk: pd.DataFrame, schema: pa.Schema, *, first_row: int) -> pa.Table:
    try:
        table = pa.Table.from_pandas(chunk, schema=schema, preserve_index=False)
    except _CONVERSION_ERRORS as error:
        raise LoadError(f"cannot convert the data: {_where_conversion_fails(chunk, first_row)}{error.args[0]}") from None
    return table.replace_schema_metadata(None)


def _where_conversion_fails(chunk: pd.DataFrame, first_row: int) -> str:
    """'row N, column C: ' for the first value Arrow cannot convert with the ones before it (bisection)."""
    for name in chunk.columns:
        column = chunk[name]
        if not _converts(column):
            low, high = 1, len(column)  # the length of the shortest failing prefix lies in [low, high]
            while low < high:
                middle = (low + high) // 2
                low, high = (low, middle) if not _converts(column.iloc[:middle]) else (middle + 1, high)
            return f"row {first_row + high - 1}, column {name}: "
    return ""


def _converts(column: pd.Series) -> bool:
    try:
        pa.Array.from_pandas(column)
    except _CONVERSION_ERRORS:
        return False
    return True
