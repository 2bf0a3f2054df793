"""GeoJSON, GeoPackage, Shapefile (also zipped, or a lone .dbf), FlatGeobuf and GML, read by GDAL through
pyogrio's Arrow stream.

A layer's column types are GDAL's, which reads every feature of a GeoJSON for them. A shapefile's
text encoding is GDAL's reading of its .cpg, checked against the bytes (UTF-8 text under a .cpg that
says CP1252 is an error, not mojibake); without a .cpg, or with the DBF language byte for "Windows
ANSI" (which GDAL reads as ISO-8859-1, turning € and curly quotes into control characters), the bytes
decide (see ``encoding``).
"""

from __future__ import annotations

import codecs
import glob
import io
import re
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyogrio
import pyproj

from ..errors import InputFileError
from . import encoding as encodings
from .encoding import Encoding
from .geometries import from_wkb
from .source import Column, OwnGeometry, RawBatch, Source

SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".gml", ".dbf"}
_KNOWN_TYPES = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection"}
_WINDOWS_ANSI_LDIDS = {0x03, 0x57, 0x58, 0x59}
_SHAPEFILE_SUFFIXES = (".shp", ".zip", ".dbf")


def open_ogr(
    path: Path, *, layer: str | None, encoding: str | None, batch_size: int, open_options: dict | None = None, config: dict | None = None
) -> Source:
    """``config``: GDAL configuration options in force while the file is read (set for each call, then
    put back, so other code in the process does not see them)."""
    name = str(path)
    links = _LinksWithoutBang(path)
    with gdal_config(config):
        return _opened(links.path, name, links, layer, encoding, batch_size, dict(open_options or {}), config)


@contextmanager
def gdal_config(options: dict | None):
    if not options:
        yield
        return
    before = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def _opened(path: Path, name: str, links, layer, encoding, batch_size: int, options: dict, config: dict | None) -> Source:
    layer, layer_names = _chosen_layer(path, layer, name)
    found = None
    if path.suffix.lower() in _SHAPEFILE_SUFFIXES:
        found, recode = _shapefile_encoding(path, name, encoding)
        if recode:
            options["ENCODING"] = recode  # GDAL recodes the .dbf text to UTF-8 for Arrow
    try:
        info = pyogrio.read_info(path, layer=layer, **options)
    except pyogrio.errors.GeometryError as error:
        raise _unsupported_layer_type(name, error) from None
    with _stream(path, layer, batch_size, options, name) as (meta, reader):
        schema = reader.schema
    wkb_column = meta["geometry_name"] or "wkb_geometry"
    has_geometry = info["geometry_type"] is not None
    columns = [Column(field.name, field.type) for field in schema if not (has_geometry and field.name == wkb_column)]
    geometry = None
    if has_geometry:
        geometry = OwnGeometry(
            name=info["geometry_name"] or "geom",
            crs=pyproj.CRS.from_user_input(info["crs"]) if info["crs"] else None,
            declared_type=_declared_type(info["geometry_type"], multi_only=info["driver"] == "ESRI Shapefile"),
        )
    label = name if len(layer_names) == 1 else f"{name} layer {layer}"

    def read(names: list[str], make_valid: bool):
        # links.path, not path: the closure must hold the links while the source is read
        with gdal_config(config), _stream(links.path, layer, batch_size, options, name) as (_, reader):
            first_row = 1
            for batch in reader:
                table = pa.Table.from_batches([batch])
                geometries = None
                if has_geometry:
                    geometries = from_wkb(table.column(wkb_column), where=label, first_row=first_row, make_valid=make_valid)
                yield RawBatch(table=table.select(names), geometries=geometries, first_row=first_row)
                first_row += table.num_rows

    return Source(
        name=label, columns=columns, read=_guarded(read, name), geometry=geometry,
        total=info["features"] if info["features"] >= 0 else None, encoding=found,
    )


def _chosen_layer(path: Path, layer: str | None, name: str) -> tuple[str, list[str]]:
    try:
        layers = pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError as error:
        raise InputFileError(f"{name}: cannot be read as {path.suffix} ({_first_line(error)})") from None
    except pyogrio.errors.GeometryError as error:
        raise _unsupported_layer_type(name, error) from None
    names = [str(n) for n in layers[:, 0]]
    if layer is None and len(names) > 1:
        raise InputFileError(f"{name} has {len(names)} layers; choose one with layer=: {', '.join(names)}")
    if layer is not None and layer not in names:
        raise InputFileError(f"{name} has no layer {layer!r}; its layers: {', '.join(names)}")
    return layer or names[0], names


class _LinksWithoutBang:
    """pyogrio reads 'a.zip!b.shp' as a file inside a zip, so a path with '!' in it is opened through
    links without one (the file and its sidecars, which share its stem), in a folder of its own."""

    def __init__(self, path: Path):
        self.path = path
        if "!" not in str(path):
            return
        self._folder = tempfile.TemporaryDirectory(prefix="analysis-lib-")
        for part in path.parent.glob(glob.escape(path.stem) + ".*"):
            (Path(self._folder.name) / f"input{part.name[len(path.stem):]}").symlink_to(part.resolve())
        self.path = Path(self._folder.name) / f"input{path.suffix}"


@contextmanager
def _stream(path: Path, layer: str, batch_size: int, options: dict, name: str):
    try:
        with pyogrio.open_arrow(path, layer=layer, batch_size=batch_size, use_pyarrow=True, **options) as opened:
            yield opened
    except pyogrio.errors.DataSourceError as error:
        raise InputFileError(f"{name}: {_first_line(error)}") from None
    except pyogrio.errors.GeometryError as error:
        raise _unsupported_layer_type(name, error) from None


def _unsupported_layer_type(name: str, error: Exception) -> InputFileError:
    """pyogrio opens no layer whose declared type it has no name for ("3D Unknown", PolyhedralSurface Z),
    whatever the features hold."""
    return InputFileError(
        f"{name}: the layer's geometry type cannot be read here ({_first_line(error)}); write the layer with a"
        " plain type first, e.g. ogr2ogr -nlt MULTIPOLYGONZ (or POINTZ, MULTILINESTRINGZ) new.gpkg the.gpkg"
    )


def _guarded(read, name: str):
    """Name the file in errors GDAL raises while streaming."""

    def guarded(names, make_valid):
        try:
            yield from read(names, make_valid)
        except pyogrio.errors.DataSourceError as error:
            raise InputFileError(f"{name}: {_first_line(error)}") from None

    return guarded


def _declared_type(ogr_type: str, *, multi_only: bool) -> str | None:
    """OGR's layer type as a column type; None when the rows must decide ('Unknown')."""
    base = re.sub(r"^(3D|2\.5D) | (Z|M|ZM)$", "", ogr_type.strip())
    if base not in _KNOWN_TYPES:
        return None
    # a shapefile's "Polygon" layer holds multipolygons too: promote so every row fits
    if multi_only and base in ("Polygon", "LineString"):
        return f"Multi{base}"
    return base


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# --- shapefile encodings --------------------------------------------------------------------------


def _shapefile_encoding(path: Path, name: str, given: str | None) -> tuple[Encoding, str | None]:
    """The encoding of a shapefile's .dbf text, and the name to give GDAL (None: GDAL's own reading)."""
    if given is not None:
        chosen = encodings.given(given)
        return chosen, codecs.lookup(chosen.name).name.upper()
    with _dbf_parts(path) as (cpg, dbf):
        if dbf is None:
            return Encoding("utf-8", "no .dbf: no text to read"), None
        header = dbf.read(32)
        start, record_bytes, ldid = int.from_bytes(header[8:10], "little"), int.from_bytes(header[10:12], "little"), header[29]
        records = dict(start=start, unit="record", unit_bytes=record_bytes or None)
        if cpg is not None:
            declared = Encoding(_cpg_codec(cpg), f"its .cpg file ({cpg.strip()!r})")
            encodings.declared_conflict(declared, dbf, name, **records)
            read_as = encodings.windows_bytes_under_latin1(declared, dbf, start=start)
            return read_as, (None if read_as is declared else codecs.lookup(read_as.name).name.upper())
        if ldid and ldid not in _WINDOWS_ANSI_LDIDS:
            declared = Encoding(f"the code page of LDID 0x{ldid:02x}", "GDAL's reading of the DBF language byte")
            encodings.declared_conflict(declared, dbf, name, **records)
            return declared, None
        detected = encodings.detect(dbf, name, **records)
    if ldid:
        detected = Encoding(detected.name, f"DBF language byte 0x{ldid:02x} (Windows ANSI), {detected.evidence}", detected.confidence)
    else:
        detected = Encoding(detected.name, f"no .cpg file, {detected.evidence}", detected.confidence)
    return detected, codecs.lookup(detected.name).name.upper()


@contextmanager
def _dbf_parts(path: Path):
    """The .cpg text (or None) and the open .dbf (or None) of a shapefile, beside it or in its zip."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = {Path(n).suffix.lower(): n for n in archive.namelist()}
            cpg = archive.read(members[".cpg"]).decode("ascii", "replace") if ".cpg" in members else None
            if ".dbf" not in members:
                yield cpg, None
                return
            with archive.open(members[".dbf"]) as dbf:
                yield cpg, io.BytesIO(dbf.read())
        return
    cpg_path = next((p for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG")) if p.exists()), None)
    cpg = cpg_path.read_text(encoding="ascii", errors="replace") if cpg_path else None
    dbf_path = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf_path is None:
        yield cpg, None
        return
    with dbf_path.open("rb") as dbf:
        yield cpg, dbf


def _cpg_codec(text: str) -> str:
    """GDAL's reading of a .cpg: '65001' and 'UTF8' are UTF-8, a number is a Windows code page, '88591' ISO-8859-1."""
    value = text.strip().upper()
    if value in ("UTF-8", "UTF8", "65001"):
        return "utf-8"
    if value.startswith("8859") and value[4:].isdigit():
        return f"iso8859-{value[4:]}"
    if value.isdigit():
        return f"cp{value}"
    return value.lower()
