"""Import files into PostGIS, streaming: CSV, XLSX, GeoJSON, GeoPackage, Shapefile (also zipped),
FlatGeobuf, GML and GeoParquet.

Each format is read by its own module in ``sources``; ``plan.decide`` decides, for every format
alike, the columns, their types, where the geometries come from, their CRS and their column type;
``ingest.write`` writes the batches in one transaction, so a bad row anywhere leaves the database as
it was. Memory stays flat whatever the file size.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import InputFileError
from .ingest import LoadReport, existing_columns, write
from .plan import DEFAULT_LOCK_TIMEOUT, Options, decide
from .sources import csv, excel, ogr, parquet
from .sources.source import Source


def import_file(
    path,
    table: str,
    *,
    layer: str | None = None,
    crs=None,
    target_crs="EPSG:28992",
    encoding: str | None = None,
    schema: str = "public",
    if_exists: str = "fail",
    columns: Iterable[str] | None = None,
    column_types: Mapping[str, str] | None = None,
    make_valid: bool = False,
    z: str = "keep",
    geometry_type: str | None = None,
    null_values=(),
    primary_key=None,
    spatial_index: bool = True,
    check_extent: bool = True,
    geometry: str | None = None,
    x: str | None = None,
    y: str | None = None,
    separator: str | None = None,
    decimal: str | None = None,
    skip_rows: int = 0,
    skip_rows_after_header: int = 0,
    skip_bad_lines: bool = False,
    batch_size: int = 65_536,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    progress: bool | None = None,
) -> LoadReport:
    """Import one file (or one layer or sheet of it) into ``schema.table``; returns what was done.

    The CRS comes from the file (``crs=`` when it has none, e.g. a shapefile without .prj or a CSV);
    geometries are reprojected to ``target_crs`` and must lie in their CRS's area of use
    (``check_extent=False`` to allow otherwise). A CSV's separator, decimal comma and encoding are
    detected unless given (``skip_rows`` title lines before the header, ``skip_rows_after_header`` lines
    such as a row of units after it), its column types decided over every row (``column_types={"code": "text"}``
    to choose), and its geometries made from the one column of WKT, EWKT, GeoJSON or hex WKB, or the
    one x/y pair, it has (``geometry=`` or ``x=``/``y=`` to choose). ``columns`` picks the attribute
    columns to import, by their names in the file. A lock on the table that another session holds is
    waited for at most ``lock_timeout`` seconds.
    """
    started = time.perf_counter()
    path = Path(path)
    options = Options(
        table=table, schema=schema, if_exists=if_exists, crs=crs, target_crs=target_crs, geometry=geometry, x=x, y=y,
        columns=list(columns) if columns is not None else None, column_types=dict(column_types or {}),
        null_values=tuple(null_values), make_valid=make_valid, z=z, geometry_type=geometry_type, primary_key=primary_key,
        spatial_index=spatial_index, check_extent=check_extent, lock_timeout=lock_timeout,
    )
    _csv_options_only_for_csv(path, separator=separator, decimal=decimal, skip_rows=skip_rows,
                              skip_rows_after_header=skip_rows_after_header, skip_bad_lines=skip_bad_lines)
    source = _opened(path, layer=layer, encoding=encoding, separator=separator, decimal=decimal, skip_rows=(skip_rows, skip_rows_after_header),
                     skip_bad_lines=skip_bad_lines, null_values=options.null_values, batch_size=batch_size)
    existing = existing_columns(schema, table) if if_exists == "append" else None
    plan, batches = decide(source, options, existing=existing)
    report = write(plan, batches, total=source.total, progress=progress, encoding=source.encoding)
    report.seconds = time.perf_counter() - started  # reading the file to type it counts too
    return report


def _csv_options_only_for_csv(path: Path, **given) -> None:
    """How a CSV is split means nothing to other formats: refused rather than ignored (an XLSX's title
    rows would otherwise become data)."""
    if path.suffix.lower() in csv.SUFFIXES:
        return
    named = [name for name, value in given.items() if value not in (None, 0, False)]
    if named:
        raise InputFileError(f"{path}: {', '.join(named)} apply to CSV files only, not to {path.suffix or 'this'} files"
                             + ("; for title rows above a sheet's header, delete them or save the sheet as CSV"
                                if path.suffix.lower() in excel.SUFFIXES else ""))


def file_columns(path, *, layer: str | None = None, encoding: str | None = None, separator: str | None = None,
                 skip_rows: int = 0, skip_rows_after_header: int = 0) -> list[str]:
    """The attribute columns of a file (one layer or sheet of it) by their names in the file, without
    its geometry column; a CSV's header is read, not its rows."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    if path.suffix.lower() in csv.SUFFIXES:
        return csv.header(path, encoding=encoding, separator=separator, skip_rows=skip_rows, skip_rows_after_header=skip_rows_after_header)
    source = _opened(path, layer=layer, encoding=encoding, separator=separator, decimal=None, skip_rows=(skip_rows, skip_rows_after_header),
                     skip_bad_lines=False, null_values=(), batch_size=1)
    return [column.name for column in source.columns]


def _opened(path: Path, *, layer, encoding, separator, decimal, skip_rows: tuple[int, int], skip_bad_lines, null_values, batch_size) -> Source:
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in csv.SUFFIXES:
        return csv.open_csv(path, encoding=encoding, separator=separator, decimal=decimal, skip_rows=skip_rows[0],
                            skip_rows_after_header=skip_rows[1],
                            skip_bad_lines=skip_bad_lines, null_values=null_values, batch_size=batch_size)
    if suffix in excel.SUFFIXES:
        return excel.open_excel(path, sheet=layer, batch_size=batch_size)
    if suffix in parquet.SUFFIXES:
        return parquet.open_parquet(path, batch_size=batch_size)
    if suffix in ogr.SUFFIXES:
        return ogr.open_ogr(path, layer=layer, encoding=encoding, batch_size=batch_size)
    supported = sorted(csv.SUFFIXES | excel.SUFFIXES | parquet.SUFFIXES | ogr.SUFFIXES)
    raise InputFileError(f"{path}: cannot import {suffix or 'a file without extension'} files; supported: {' '.join(supported)}")
