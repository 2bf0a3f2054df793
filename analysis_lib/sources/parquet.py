"""(Geo)Parquet files, read in batches by pyarrow; the geometry column and its CRS from the GeoParquet
metadata (a missing ``crs`` means OGC:CRS84, as the specification says). Struct, map and nested list
columns, such as GeoParquet 1.1's ``bbox``, are kept whole (they become jsonb)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pyproj

from .. import geometry as geo
from ..errors import InputFileError
from .geometries import from_wkb
from .source import Column, OwnGeometry, RawBatch, Source

SUFFIXES = {".parquet", ".geoparquet"}


def open_parquet(path: Path, *, batch_size: int) -> Source:
    name = str(path)
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputFileError(f"{name}: not a Parquet file ({error})") from None
    metadata = parquet.schema_arrow.metadata or {}
    geo_metadata = json.loads(metadata[b"geo"]) if b"geo" in metadata else None
    geometry = None
    if geo_metadata:
        geometry_name = geo_metadata["primary_column"]
        column = geo_metadata["columns"][geometry_name]
        if column.get("encoding", "WKB").upper() != "WKB":
            raise InputFileError(f"{name}: geometry encoding {column['encoding']!r} is not supported; write it as WKB")
        crs_value = column.get("crs", "OGC:CRS84")  # an explicit null means unknown
        types = {t.removesuffix(" Z") for t in column.get("geometry_types") or []}
        geometry = OwnGeometry(
            name=geometry_name,
            crs=pyproj.CRS.from_user_input(crs_value) if crs_value else None,
            declared_type=geo.common_type(types) if types else None,
        )
    covering = {path[0] for path in (column.get("covering", {}).get("bbox", {}).values() if geo_metadata else [])}
    columns = [
        Column(f.name, f.type, bounds_of_geometry=f.name in covering) for f in parquet.schema_arrow if geometry is None or f.name != geometry.name
    ]

    def read(names: list[str], make_valid: bool):
        first_row = 1
        wanted = names + ([geometry.name] if geometry else [])
        for batch in parquet.iter_batches(batch_size=batch_size, columns=wanted):
            table = pa.Table.from_batches([batch])
            geometries = None
            if geometry:
                geometries = from_wkb(table.column(geometry.name), where=name, first_row=first_row, make_valid=make_valid)
            yield RawBatch(table=table.select(names), geometries=geometries, first_row=first_row)
            first_row += table.num_rows

    return Source(name=name, columns=columns, read=read, geometry=geometry, total=parquet.metadata.num_rows)
