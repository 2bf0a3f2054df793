"""Geometries out of what a file holds: WKB (OGR formats, GeoParquet), text columns with WKT, EWKT,
GeoJSON or hex WKB, and x/y columns.

Unreadable geometries (a ring of two points, an unclosed ring) are an error that names the row; with
``make_valid`` shapely's reader repairs them instead (``on_invalid="fix"``), and what it cannot read
becomes NULL; both are reported by row. What shapely does not read at all PostGIS converts: curves
(CircularString, CurvePolygon, …) are linearised, TINs and polyhedral surfaces become collections of
their faces (as MultiPolygons they would be invalid: neighbouring faces share edges), triangles
polygons.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
import sqlalchemy as sa

from .. import wkb
from ..db import engine
from ..errors import InputFileError
from .text_types import header_again

# ISO WKB codes of CircularString, CompoundCurve, CurvePolygon, MultiCurve, MultiSurface, Curve, Surface
_CURVED_WKB_TYPES = {8, 9, 10, 11, 12, 13, 14}
_SURFACE_WKB_TYPES = {15, 16, 17}  # PolyhedralSurface, TIN, Triangle
CURVES_NOTE = "curved geometries linearised (PostGIS ST_CurveToLine)"
SURFACES_NOTE = "TINs and polyhedral surfaces stored as GeometryCollections of their faces, triangles as Polygons (PostGIS ST_ForceSFS)"


@dataclass
class Decoded:
    """A batch's geometries (None where missing) and what reading them took."""

    geometries: np.ndarray
    srids: set[int] = field(default_factory=set)  # SRIDs the values carry (EWKT, EWKB); 0: none
    repaired_rows: list[int] = field(default_factory=list)  # 1-based rows shapely's reader repaired
    nulled_rows: list[int] = field(default_factory=list)  # 1-based rows it could not read at all
    notes: set[str] = field(default_factory=set)  # conversions PostGIS made (CURVES_NOTE, SURFACES_NOTE)


def from_wkb(column: pa.ChunkedArray | pa.Array, *, where: str, first_row: int, make_valid: bool) -> Decoded:
    """Shapely geometries from a binary WKB column."""
    try:
        geometries, srids = wkb.decode(column)
        return Decoded(geometries, _carried(srids))
    except (NotImplementedError, shapely.errors.GEOSException):
        pass  # curves or a broken geometry: find which
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column.type, pa.ExtensionType):
        column = column.storage
    return _from_wkb_values(column.to_numpy(zero_copy_only=False), where=where, first_row=first_row, make_valid=make_valid)


def from_text(column: pa.Array, kind: str, *, where: str, name: str, first_row: int, make_valid: bool) -> Decoded:
    """Shapely geometries from a text column ``name`` of ``kind`` 'WKT' (also EWKT), 'GeoJSON' or 'WKB (hex)';
    ``where`` names the file."""
    values = pc.utf8_trim_whitespace(column.cast(pa.string()))
    present = pc.fill_null(pc.not_equal(values, ""), False).to_numpy(zero_copy_only=False)
    if kind == "WKB (hex)":
        # text that is not hex becomes one byte no reader takes: an unreadable geometry, named by its row
        hexes = [v.removeprefix("\\x") if v else v for v in values.to_pylist()]  # \x: PostgreSQL's bytea output
        raw = np.array([None if not v else bytes.fromhex(v) if _is_hex(v) else b"?" for v in hexes], dtype=object)
        return _from_wkb_values(raw, where=where, column=name, first_row=first_row, make_valid=make_valid)
    srids: set[int] = set()
    if kind == "WKT":
        parts = pc.extract_regex(values, r"^(?i:SRID=(?P<srid>[0-9]+);)?\s*(?P<wkt>.*)$")
        srid_text = pc.filter(pc.struct_field(parts, "srid"), pa.array(present))
        srids = {int(s) if s else 0 for s in pc.unique(srid_text).to_pylist()}
        text = pc.struct_field(parts, "wkt").to_numpy(zero_copy_only=False)
        reader, reader_name = shapely.from_wkt, "WKT"
    else:
        text = values.to_numpy(zero_copy_only=False)
        reader, reader_name = shapely.from_geojson, "a GeoJSON geometry"
    text = np.where(present, text, None)
    with wkb.collector_paused():
        geometries = reader(text, on_invalid="ignore")
    broken = present & shapely.is_missing(geometries)
    if broken.any():
        row = int(np.flatnonzero(broken)[0])
        value = values[row].as_py()
        raise InputFileError(f"{where}: row {row + first_row}, column {name}: not {reader_name}: {str(value)[:60]!r}{header_again(value, name)}")
    return Decoded(geometries, _carried(srids))


def from_xy(x: pa.Array, y: pa.Array, names: tuple[str, str], *, where: str, first_row: int) -> Decoded:
    """Points from two number columns; a row missing either coordinate has no geometry."""
    coordinates = []
    for column, label in zip((x, y), names, strict=True):
        try:
            coordinates.append(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = column.to_pylist()
            row = next(i for i, v in enumerate(values) if v is not None and not _is_number(v))
            raise InputFileError(f"{where}: row {row + first_row}, column {label}: not a number: {values[row]!r}") from None
    xs, ys = coordinates
    missing = np.isnan(xs) | np.isnan(ys)
    with wkb.collector_paused():
        points = shapely.points(np.where(missing, 0, xs), np.where(missing, 0, ys))
    points[missing] = None
    return Decoded(points)


def _from_wkb_values(values: np.ndarray, *, where: str, first_row: int, make_valid: bool, column: str | None = None) -> Decoded:
    present = np.array([v is not None and len(v) > 0 for v in values], dtype=bool)
    kinds = np.array([_wkb_type(v) if v is not None and len(v) >= 5 else 0 for v in values])
    curved = np.isin(kinds, list(_CURVED_WKB_TYPES | _SURFACE_WKB_TYPES))
    geometries = np.full(len(values), None, dtype=object)
    with wkb.collector_paused():
        geometries[~curved] = shapely.from_wkb(values[~curved], on_invalid="ignore")
    decoded = Decoded(geometries)
    broken = present & ~curved & shapely.is_missing(geometries)
    if broken.any():
        if not make_valid:
            row = int(np.flatnonzero(broken)[0])
            in_column = f", column {column}" if column else ""
            raise InputFileError(
                f"{where}: row {row + first_row}{in_column}: the geometry cannot be read ({_reason(values[row])});"
                " pass make_valid=True to repair what can be repaired"
            )
        with wkb.collector_paused():
            geometries[broken] = shapely.from_wkb(values[broken], on_invalid="fix")
        for index in np.flatnonzero(broken & shapely.is_missing(geometries)):  # what shapely's fix gives up on
            repaired = _rings_repaired(values[index])
            geometries[index] = shapely.from_wkb(repaired, on_invalid="ignore") if repaired is not None else None
        fixed = broken & ~shapely.is_missing(geometries)
        decoded.repaired_rows = (np.flatnonzero(fixed) + first_row).tolist()
        decoded.nulled_rows = (np.flatnonzero(broken & ~fixed) + first_row).tolist()
    if curved.any():
        geometries[curved] = _converted_by_postgis(values[curved], where, np.flatnonzero(curved) + first_row)
        decoded.notes = {CURVES_NOTE if kind in _CURVED_WKB_TYPES else SURFACES_NOTE for kind in set(kinds[curved].tolist())}
    decoded.srids = _carried(set(shapely.get_srid(geometries[~shapely.is_missing(geometries)]).tolist()))
    return decoded


def _carried(srids: set[int]) -> set[int]:
    """The SRIDs values carry; 0 stays in only beside others (some values with an SRID, some without)."""
    return set() if srids <= {0} else srids


def _rings_repaired(value: bytes) -> bytes | None:
    """A (Multi)Polygon's WKB with the rings GEOS cannot read mended: open rings closed, rings of fewer
    than three distinct points left out (a shell like that takes its polygon with it). None when the
    value is no polygon WKB or nothing is left."""
    try:
        order = "<" if value[0] == 1 else ">"
        code = struct.unpack_from(f"{order}I", value, 1)[0]
        iso = (code & 0x0FFFFFFF) // 1000  # ISO's thousands: 1 Z, 2 M, 3 ZM; EWKB has flags instead
        has_z, has_m = bool(code & 0x80000000) or iso in (1, 3), bool(code & 0x40000000) or iso in (2, 3)
        layout = (2 + has_z + has_m, 3 if has_z else 2)  # values per point, and how many are kept (M is not)
        srid = struct.unpack_from(f"{order}I", value, 5)[0] if code & 0x20000000 else 0
        kind, offset = (code & 0x0FFFFFFF) % 1000, 5 + (4 if srid or code & 0x20000000 else 0)
        if kind == 3:
            polygon, _ = _polygon(value, offset, order, layout)
            polygons = [polygon] if polygon else []
        elif kind == 6:
            count, offset = struct.unpack_from(f"{order}I", value, offset)[0], offset + 4
            polygons = []
            for _ in range(count):
                polygon, offset = _polygon(value, offset + 5, "<" if value[offset] == 1 else ">", layout)
                polygons += [polygon] if polygon else []
        else:
            return None
    except (struct.error, IndexError, ValueError):
        return None
    if not polygons:
        return None
    shapes = [shapely.Polygon(rings[0], rings[1:]) for rings in polygons]
    shape = shapes[0] if kind == 3 else shapely.MultiPolygon(shapes)
    return shapely.to_wkb(shapely.set_srid(shape, srid), output_dimension=layout[1], include_srid=bool(srid))


def _polygon(value: bytes, offset: int, order: str, layout: tuple[int, int]) -> tuple[list, int]:
    """The rings of the polygon whose ring count is at ``offset`` (kept ones only), and the offset after it."""
    dimensions, kept = layout
    count, offset = struct.unpack_from(f"{order}I", value, offset)[0], offset + 4
    rings = []
    for position in range(count):
        points, offset = struct.unpack_from(f"{order}I", value, offset)[0], offset + 4
        coordinates = np.frombuffer(value, dtype=f"{order}f8", count=points * dimensions, offset=offset).reshape(points, dimensions)
        offset += points * dimensions * 8
        coordinates = coordinates[:, :kept]
        if len(np.unique(coordinates[:, :2], axis=0)) < 3:
            if position == 0:
                return [], offset + _rest_of_polygon(value, offset, order, dimensions, count - 1)
            continue
        if not (coordinates[0] == coordinates[-1]).all():
            coordinates = np.vstack([coordinates, coordinates[:1]])
        rings.append(coordinates)
    return rings, offset


def _rest_of_polygon(value: bytes, offset: int, order: str, dimensions: int, rings: int) -> int:
    """The bytes the remaining ``rings`` of a polygon take from ``offset``."""
    start = offset
    for _ in range(rings):
        points = struct.unpack_from(f"{order}I", value, offset)[0]
        offset += 4 + points * dimensions * 8
    return offset - start


def _reason(value: bytes) -> str:
    try:
        shapely.from_wkb(value)
    except shapely.errors.GEOSException as error:
        return str(error)
    return "not WKB"


def _wkb_type(value: bytes) -> int:
    code = int.from_bytes(value[1:5], "little" if value[0] == 1 else "big")
    return (code & 0x0FFFFFFF) % 1000


def _converted_by_postgis(values: np.ndarray, where: str, rows: np.ndarray) -> np.ndarray:
    """Curves as line segments, surfaces as collections of their faces, by PostGIS."""
    try:
        with engine().connect() as connection:
            linear = connection.execute(
                sa.text(
                    "SELECT ST_AsBinary(CASE WHEN ST_GeometryType(g) IN ('ST_PolyhedralSurface', 'ST_Tin', 'ST_Triangle')"
                    " THEN ST_ForceSFS(g) ELSE ST_CurveToLine(g) END)"
                    " FROM (SELECT ST_GeomFromWKB(w) AS g, i FROM unnest(CAST(:w AS bytea[])) WITH ORDINALITY AS t(w, i)) s ORDER BY i"
                ),
                {"w": [bytes(v) for v in values]},
            ).scalars().all()
    except sa.exc.DBAPIError as error:
        raise InputFileError(
            f"{where}: rows {', '.join(map(str, rows[:5]))} hold geometries neither shapely nor PostGIS can read"
            f" ({str(error.orig).splitlines()[0]})"
        ) from None
    return shapely.from_wkb(np.array(linear, dtype=object))


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text)


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
