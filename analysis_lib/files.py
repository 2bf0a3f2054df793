"""Import files into PostGIS, streaming: CSV, XLSX, GeoJSON, GeoPackage, Shapefile (also zipped),
FlatGeobuf, GML and GeoParquet.

Files are read in Arrow batches (pyogrio for the OGR formats, pyarrow for CSV and Parquet) and each
batch is written before the next is read, so memory stays flat whatever the file size. The load itself
is atomic (see ``ingest``): a bad row anywhere leaves the database as it was.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pyogrio
import pyproj
import shapely
import sqlalchemy as sa

from . import geometry as geo
from . import wkb
from .db import engine
from .errors import InputFileError
from .ingest import Batch, LoadReport, Plan, primary_key_columns, write
from .identifiers import normalise_columns, snake_case

OGR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".gml", ".xlsx", ".dbf"}
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet"}
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "wkt_geom", "geometrie")
XY_NAMES = (("x", "y"), ("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("x_coord", "y_coord"))
LONLAT_NAMES = {"lon", "lng", "longitude"}
GEOMETRY_COLUMN = "geom"
_SAMPLE_BYTES = 1 << 16
_CHUNK_BYTES = 1 << 22


@dataclass
class Source:
    """An opened input: its columns, its batches (attributes + shapely geometries) and what it says of itself."""

    name: str
    columns: list[str]  # attribute columns, as the file names them
    batches: Iterator[tuple[pa.Table, np.ndarray | None]]
    geometry_column: str | None = None  # the geometry's column name in the database; None: no geometry
    crs: pyproj.CRS | None = None
    declared_type: str | None = None  # None: the rows decide
    total: int | None = None
    notes: list[str] = field(default_factory=list)


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
    make_valid: bool = False,
    z: str = "keep",
    geometry_type: str | None = None,
    null_values=(),
    primary_key=None,
    spatial_index: bool = True,
    wkt: str | None = None,
    x: str | None = None,
    y: str | None = None,
    separator: str | None = None,
    decimal: str | None = None,
    skip_rows: int = 0,
    skip_bad_lines: bool = False,
    batch_size: int = 65_536,
    progress: bool | None = None,
) -> LoadReport:
    """Import one file (or one layer of it) into ``schema.table``; returns what was done.

    The CRS comes from the file (``crs=`` when it has none, e.g. a shapefile without .prj or a CSV);
    geometries are reprojected to ``target_crs``. CSV files get their separator, decimal comma and
    encoding detected unless given, and their geometry from a WKT column or x/y columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    options = dict(encoding=encoding, batch_size=batch_size)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        source = _open_csv(
            path, separator=separator, decimal=decimal, skip_rows=skip_rows, skip_bad_lines=skip_bad_lines, **options
        )
    elif suffix in PARQUET_SUFFIXES:
        source = _open_parquet(path, batch_size=batch_size)
    elif suffix in OGR_SUFFIXES:
        source = _open_ogr(path, layer=layer, **options)
    else:
        supported = sorted(CSV_SUFFIXES | PARQUET_SUFFIXES | OGR_SUFFIXES)
        raise InputFileError(f"{path}: cannot import {suffix or 'a file without extension'} files; supported: {' '.join(supported)}")
    if source.geometry_column is None:
        source = _with_geometry_from_columns(source, wkt=wkt, x=x, y=y, crs=crs)
    return _load_source(
        source,
        Plan(
            table=table,
            schema=schema,
            if_exists=if_exists,
            make_valid=make_valid,
            z=z,
            spatial_index=spatial_index,
            null_values=tuple(null_values),
            source=source.name,
        ),
        crs=crs,
        target_crs=target_crs,
        geometry_type=geometry_type,
        primary_key=primary_key,
        progress=progress,
    )


def _load_source(source: Source, plan: Plan, *, crs, target_crs, geometry_type, primary_key, progress) -> LoadReport:
    columns = normalise_columns(source.columns)
    plan.primary_key = primary_key_columns(primary_key, columns)
    batches = _renamed(source.batches, columns)
    first = next(batches, None)
    if first is None:
        raise InputFileError(f"{source.name}: no rows to import")
    if first.geometries is not None:
        source_crs = _source_crs(source, crs)
        final_crs = geo.resolve_crs(target_crs, "target_crs") if target_crs is not None else source_crs
        if final_crs != source_crs:
            plan.transformer = pyproj.Transformer.from_crs(source_crs, final_crs, always_xy=True)
        plan.geometry = geo.column_type(
            first.geometries,
            source.geometry_column,
            geo.epsg_of(final_crs, "target_crs"),
            z=plan.z,
            make_valid=plan.make_valid,
            declared=geometry_type or source.declared_type,
        )
    report = write(plan, chain([first], batches), total=source.total, progress=progress, columns=columns)
    report.notes.extend(source.notes)
    return report


def _renamed(batches, columns: dict[str, str]) -> Iterator[Batch]:
    first_row = 1
    for attributes, geometries in batches:
        renamed = attributes.rename_columns([columns[name] for name in attributes.column_names])
        yield Batch(attributes=renamed, geometries=geometries, first_row=first_row)
        first_row += attributes.num_rows


def _source_crs(source: Source, crs) -> pyproj.CRS:
    if crs is not None:
        given = geo.resolve_crs(crs, "crs")
        if source.crs is not None and source.crs != given:
            raise InputFileError(
                f"{source.name}: crs={crs!r} contradicts the file's own CRS {source.crs.name!r}; use target_crs to reproject"
            )
        return given
    if source.crs is None:
        raise InputFileError(f"{source.name} has no coordinate reference system: pass crs='EPSG:28992' (or the right one)")
    return source.crs


# --- OGR formats (pyogrio) -----------------------------------------------------------------------

_KNOWN_TYPES = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection"}


def _open_ogr(path: Path, *, layer: str | None, encoding: str | None, batch_size: int) -> Source:
    name = str(path)
    try:
        layers = pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError as error:
        raise InputFileError(f"{name}: cannot be read as {path.suffix} ({_first_line(error)})") from None
    layer_names = [str(n) for n in layers[:, 0]]
    if layer is None and len(layer_names) > 1:
        raise InputFileError(f"{name} has {len(layer_names)} layers; choose one with layer=: {', '.join(layer_names)}")
    if layer is not None and layer not in layer_names:
        raise InputFileError(f"{name} has no layer {layer!r}; its layers: {', '.join(layer_names)}")
    layer = layer or layer_names[0]
    notes = []
    open_options = {}
    if path.suffix.lower() in (".shp", ".zip", ".dbf"):
        if encoding is None:
            encoding, note = _shapefile_encoding(path)
            notes.extend([note] if note else [])
        if encoding is not None:
            # GDAL's own recoding (open option ENCODING) turns the .dbf text into UTF-8 for Arrow too
            open_options["ENCODING"] = _gdal_encoding(encoding)
            encoding = None
    info = pyogrio.read_info(path, layer=layer, encoding=encoding, **open_options)
    has_geometry = info["geometry_type"] is not None

    def batches():
        with pyogrio.open_arrow(
            path, layer=layer, encoding=encoding, batch_size=batch_size, use_pyarrow=True, **open_options
        ) as (meta, reader):
            wkb_column = meta["geometry_name"] or "wkb_geometry"
            row = 1
            for batch in reader:
                table = pa.Table.from_batches([batch])
                geometries = None
                if wkb_column in table.column_names:
                    geometries = _parse_wkb(table.column(wkb_column), name, row, notes)
                    table = table.drop_columns([wkb_column])
                row += table.num_rows
                yield table, geometries

    return Source(
        name=name if len(layer_names) == 1 else f"{name} layer {layer}",
        columns=[str(c) for c in info["fields"]],
        batches=_guard(batches(), name),
        geometry_column=snake_case(info["geometry_name"] or GEOMETRY_COLUMN) if has_geometry else None,
        crs=pyproj.CRS.from_user_input(info["crs"]) if info["crs"] else None,
        declared_type=_declared_type(info["geometry_type"], multi_only=info["driver"] == "ESRI Shapefile") if has_geometry else None,
        total=info["features"] if info["features"] >= 0 else None,
        notes=notes,
    )


def _parse_wkb(column: pa.ChunkedArray, name: str, first_row: int, notes: list[str]) -> np.ndarray:
    try:
        return wkb.decode(column)[0]
    except (NotImplementedError, shapely.errors.GEOSException):
        pass  # curves (shapely reads none; PostGIS linearises them) or a broken geometry: find which
    values = column.to_numpy(zero_copy_only=False)
    present = np.array([v is not None for v in values], dtype=bool)
    curved = np.array([v is not None and _wkb_type(v) in _CURVED_WKB_TYPES for v in values], dtype=bool)
    geometries = np.full(len(values), None, dtype=object)
    with wkb.collector_paused():
        geometries[~curved] = shapely.from_wkb(values[~curved], on_invalid="ignore")
    broken = present & ~curved & shapely.is_missing(geometries)
    if broken.any():
        row = int(np.flatnonzero(broken)[0])
        try:
            shapely.from_wkb(values[row])
        except shapely.errors.GEOSException as error:
            reason = str(error)
        raise InputFileError(f"{name}: row {row + first_row}: the geometry cannot be read ({reason})")
    if curved.any():
        geometries[curved] = _linearised(values[curved], name, np.flatnonzero(curved) + first_row)
        note = "curved geometries linearised (PostGIS ST_CurveToLine)"
        if note not in notes:
            notes.append(note)
    return geometries


# ISO WKB codes of CircularString, CompoundCurve, CurvePolygon, MultiCurve, MultiSurface, Curve, Surface
_CURVED_WKB_TYPES = {8, 9, 10, 11, 12, 13, 14}


def _wkb_type(value: bytes) -> int:
    code = int.from_bytes(value[1:5], "little" if value[0] == 1 else "big")
    return (code & 0x0FFFFFFF) % 1000


def _linearised(values: np.ndarray, name: str, rows: np.ndarray) -> np.ndarray:
    """Curves (CircularString, CurvePolygon, MultiSurface, …) as line segments, by PostGIS."""
    try:
        with engine().connect() as connection:
            linear = connection.execute(
                sa.text(
                    "SELECT ST_AsBinary(ST_CurveToLine(ST_GeomFromWKB(w))) FROM unnest(CAST(:w AS bytea[]))"
                    " WITH ORDINALITY AS t(w, i) ORDER BY i"
                ),
                {"w": [bytes(v) for v in values]},
            ).scalars().all()
    except sa.exc.DBAPIError as error:
        raise InputFileError(
            f"{name}: rows {', '.join(map(str, rows[:5]))} hold geometries neither shapely nor PostGIS can read"
            f" ({str(error.orig).splitlines()[0]})"
        ) from None
    return shapely.from_wkb(np.array(linear, dtype=object))


def _declared_type(ogr_type: str, *, multi_only: bool) -> str | None:
    """OGR's layer type -> a column type; None when the rows must decide ('Unknown')."""
    base = re.sub(r"^(3D|2\.5D) | (Z|M|ZM)$", "", ogr_type.strip())
    if base not in _KNOWN_TYPES:
        return None
    # a shapefile's "Polygon" layer holds multipolygons too: promote so every row fits
    if multi_only and base in ("Polygon", "LineString"):
        return f"Multi{base}"
    return base


def _guard(batches, name: str):
    """Name the file in errors GDAL raises while streaming."""
    try:
        yield from batches
    except pyogrio.errors.DataSourceError as error:
        raise InputFileError(f"{name}: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _gdal_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name.upper()
    except LookupError:
        raise InputFileError(f"encoding={encoding!r} is not a known encoding") from None


def _shapefile_encoding(path: Path) -> tuple[str | None, str | None]:
    """A shapefile's encoding: its .cpg when there is one, else detected from the .dbf bytes."""
    if path.suffix.lower() == ".dbf":
        path = path.with_suffix(".shp")
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = {Path(n).suffix.lower(): n for n in archive.namelist()}
            if ".cpg" in members or ".dbf" not in members:
                return None, None
            with archive.open(members[".dbf"]) as dbf:
                detected = _dbf_records_encoding(dbf)
    else:
        if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists() or not path.with_suffix(".dbf").exists():
            return None, None
        with path.with_suffix(".dbf").open("rb") as dbf:
            detected = _dbf_records_encoding(dbf)
    return detected, f"encoding: no .cpg file, detected {detected}"


def _dbf_records_encoding(dbf) -> str:
    """The encoding of a .dbf's records; its binary header (length in bytes 8-9) would mislead detection."""
    header_length = int.from_bytes(dbf.read(32)[8:10], "little")
    dbf.seek(header_length)
    return detect_encoding(dbf, start=header_length)


def detect_encoding(stream, start: int = 0) -> str:
    """'utf-8' when every byte sequence is valid UTF-8, else 'cp1252' (or 'latin-1' if cp1252 cannot decode).

    Reads ``stream`` from its current position, ``start``, to the end.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(_CHUNK_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    stream.seek(start)
    try:
        while chunk := stream.read(_CHUNK_BYTES):
            chunk.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


# --- CSV (pyarrow) --------------------------------------------------------------------------------


def _open_csv(
    path: Path,
    *,
    separator: str | None,
    decimal: str | None,
    skip_rows: int,
    skip_bad_lines: bool,
    encoding: str | None,
    batch_size: int,
) -> Source:
    name = str(path)
    notes = []
    if path.stat().st_size == 0:
        raise InputFileError(f"{name}: the file is empty")
    if encoding is None:
        with path.open("rb") as stream:
            encoding = detect_encoding(stream)
        if encoding != "utf-8":
            notes.append(f"encoding: not UTF-8, detected {encoding}")
    else:
        _check_declared_encoding(path, encoding)
    sample = "\n".join(_decoded_sample(path, encoding).splitlines()[skip_rows:])
    separator = separator or _sniff_separator(sample)
    decimal = decimal or _sniff_decimal(sample, separator)
    if decimal == ",":
        notes.append("decimal comma")
    read_options = pa_csv.ReadOptions(encoding=encoding, skip_rows=skip_rows, block_size=max(batch_size * 64, 1 << 20))
    skipped = []

    def skip_and_count(row) -> str:
        skipped.append(row)
        return "skip"

    parse_options = pa_csv.ParseOptions(delimiter=separator, invalid_row_handler=skip_and_count if skip_bad_lines else None)
    convert_options = pa_csv.ConvertOptions(decimal_point=decimal, strings_can_be_null=True)
    try:
        reader = pa_csv.open_csv(path, read_options=read_options, parse_options=parse_options, convert_options=convert_options)
    except pa.ArrowInvalid as error:
        raise InputFileError(f"{name}: {error}{_title_lines_hint(str(error))}") from None

    def batches():
        rows = 0
        try:
            for batch in reader:
                rows += batch.num_rows
                yield pa.Table.from_batches([batch]), None
        except pa.ArrowInvalid as error:
            raise InputFileError(f"{name}: {_explain_csv_error(str(error), reader.schema, rows)}") from None
        if skipped:
            first = skipped[0]
            notes.append(
                f"skipped {len(skipped)} malformed line(s), the first: {first.text[:60]!r}"
                f" ({first.actual_columns} fields where {first.expected_columns} were expected)"
            )

    return Source(name=name, columns=reader.schema.names, batches=batches(), notes=notes)


_CSV_COLUMN = re.compile(r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to (\w+): (.*)")


def _explain_csv_error(message: str, schema: pa.Schema, rows_read: int) -> str:
    """Arrow says 'CSV column #1'; name the column, the type guessed from the first rows, and where."""
    match = _CSV_COLUMN.search(message)
    if not match:
        return message
    index, arrow_type, problem = match.groups()
    return (
        f"column {schema.names[int(index)]} (read as {arrow_type}, guessed from the first rows): {problem},"
        f" after row {rows_read:,}; fix that value or make the column text in the file"
    )


def _title_lines_hint(message: str) -> str:
    if re.search(r"Expected 1 columns?, got \d+", message):
        return "; if the file starts with title lines, pass skip_rows=N (--skip-rows N) to start at the header"
    if re.search(r"Expected \d+ columns?, got \d+", message):
        return "; skip_bad_lines=True (--skip-bad-lines) skips such lines and reports them"
    return ""


def _check_declared_encoding(path: Path, encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputFileError(f"encoding={encoding!r} is not a known encoding") from None
    with path.open("rb") as stream:
        decoder = codecs.getincrementaldecoder(encoding)()
        line = 1
        while chunk := stream.read(_CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                bad_line = line + chunk[: error.start].count(b"\n")
                raise InputFileError(
                    f"{path}: line {bad_line} is not valid {encoding} ({error.reason}); leave encoding unset to detect it"
                ) from None
            line += chunk.count(b"\n")


def _decoded_sample(path: Path, encoding: str) -> str:
    with path.open("rb") as stream:
        raw = stream.read(_SAMPLE_BYTES)
    text = raw.decode(encoding, errors="ignore").lstrip("\ufeff")
    return text.rsplit("\n", 1)[0] if "\n" in text else text


def _sniff_separator(sample: str) -> str:
    """The separator that splits the header into the most fields, with most lines agreeing.

    Quotes are respected, so a '|' or ',' inside quoted names does not count; a stray title or footer
    line does not outvote the rest.
    """
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    best, best_fields = ",", 1
    for separator in ",;\t|":
        counts = [len(row) for row in csv.reader(lines, delimiter=separator)]
        agreeing = sum(count == counts[0] for count in counts) if counts else 0
        if counts and agreeing * 2 > len(counts) and counts[0] > best_fields:
            best, best_fields = separator, counts[0]
    return best


_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


def _sniff_decimal(sample: str, separator: str) -> str:
    if separator == ",":
        return "."
    rows = list(csv.reader(io.StringIO(sample), delimiter=separator))[1:]
    fields = [value.strip() for row in rows for value in row]
    return "," if any(_DECIMAL_COMMA.match(value) for value in fields) else "."


# --- GeoParquet (pyarrow) -------------------------------------------------------------------------


def _open_parquet(path: Path, *, batch_size: int) -> Source:
    name = str(path)
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputFileError(f"{name}: not a Parquet file ({error})") from None
    metadata = parquet.schema_arrow.metadata or {}
    geo_metadata = json.loads(metadata[b"geo"]) if b"geo" in metadata else None
    geometry_name, crs, declared = None, None, None
    if geo_metadata:
        geometry_name = geo_metadata["primary_column"]
        column = geo_metadata["columns"][geometry_name]
        if column.get("encoding", "WKB").upper() != "WKB":
            raise InputFileError(f"{name}: geometry encoding {column['encoding']!r} is not supported; write it as WKB")
        # GeoParquet: a missing "crs" means OGC:CRS84; an explicit null means unknown
        crs_value = column.get("crs", "OGC:CRS84")
        crs = pyproj.CRS.from_user_input(crs_value) if crs_value else None
        types = {t.removesuffix(" Z") for t in column.get("geometry_types") or []}
        declared = geo.common_type(types) if types else None

    notes = []

    def batches():
        row = 1
        for batch in parquet.iter_batches(batch_size=batch_size):
            table = pa.Table.from_batches([batch])
            geometries = None
            if geometry_name:
                geometries = _parse_wkb(table.column(geometry_name), name, row, notes)
                table = table.drop_columns([geometry_name])
            row += table.num_rows
            yield table, geometries

    return Source(
        name=name,
        columns=[c for c in parquet.schema_arrow.names if c != geometry_name],
        batches=batches(),
        geometry_column=snake_case(geometry_name) if geometry_name else None,
        crs=crs,
        declared_type=declared,
        total=parquet.metadata.num_rows,
        notes=notes,
    )


# --- geometry from attribute columns (CSV, XLSX) --------------------------------------------------


def _with_geometry_from_columns(source: Source, *, wkt: str | None, x: str | None, y: str | None, crs) -> Source:
    lower = {c.lower(): c for c in source.columns}
    for given, parameter in ((wkt, "wkt"), (x, "x"), (y, "y")):
        if given is not None and given not in source.columns:
            raise InputFileError(f"{source.name}: {parameter}={given!r} is not a column; columns: {', '.join(source.columns)}")
    if (x is None) != (y is None):
        raise InputFileError(f"{source.name}: give both x= and y= (got {'x' if x else 'y'} only)")
    if wkt is None and x is None:
        wkt = next((lower[n] for n in WKT_NAMES if n in lower), None)
        if wkt is None:
            x, y = next(((lower[a], lower[b]) for a, b in XY_NAMES if a in lower and b in lower), (None, None))
    if wkt is None and x is None:
        return source  # a plain table
    if x is not None and crs is None and source.crs is None and x.lower() in LONLAT_NAMES:
        source.crs = pyproj.CRS.from_epsg(4326)
        source.notes.append(f"CRS: EPSG:4326 assumed from the column names {x}/{y}")

    plain_batches = source.batches

    def batches():
        row = 1
        for table, _ in plain_batches:
            if wkt is not None:
                geometries = _parse_wkt(table.column(wkt), source.name, wkt, row)
                table = table.drop_columns([wkt])
            else:
                geometries = _points(table.column(x), table.column(y), source.name, (x, y), row)
            row += table.num_rows
            yield table, geometries

    source.batches = batches()
    source.geometry_column = GEOMETRY_COLUMN
    if wkt is not None:
        source.columns = [c for c in source.columns if c != wkt]
    return source


def _parse_wkt(column: pa.ChunkedArray, name: str, wkt: str, first_row: int) -> np.ndarray:
    values = column.cast(pa.string()).to_numpy(zero_copy_only=False)
    geometries = shapely.from_wkt(values, on_invalid="ignore")
    bad = shapely.is_missing(geometries) & ~_is_blank(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputFileError(f"{name}: row {row + first_row}, column {wkt}: not WKT: {str(values[row])[:60]!r}")
    return geometries


def _points(x_column: pa.ChunkedArray, y_column: pa.ChunkedArray, name: str, names: tuple[str, str], first_row: int) -> np.ndarray:
    coordinates = []
    for column, label in zip((x_column, y_column), names, strict=True):
        try:
            coordinates.append(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = column.to_pylist()
            row = next(i for i, v in enumerate(values) if v is not None and not _is_number(v))
            raise InputFileError(f"{name}: row {row + first_row}, column {label}: not a number: {values[row]!r}") from None
    xs, ys = coordinates
    missing = np.isnan(xs) | np.isnan(ys)
    points = shapely.points(np.where(missing, 0, xs), np.where(missing, 0, ys))
    points[missing] = None
    return points


def _is_blank(values: np.ndarray) -> np.ndarray:
    return np.array([v is None or (isinstance(v, str) and not v.strip()) for v in values], dtype=bool)


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False

