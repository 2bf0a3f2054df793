"""Geometry rules applied before anything reaches the database.

One column type per load (``geometry(<Type>[Z|M|ZM], <SRID>)``), single and multi parts of one family
promoted to multi, invalid geometries refused (or repaired on request), empty ones stored as NULL,
Z kept or dropped on purpose, and every geometry reprojected to the target CRS. The column type is
decided over every batch (``ColumnTyper``); a load widens its column when a later batch needs it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyproj
import shapely
from shapely import GeometryType

from . import wkb
from .errors import LoadError

_NAMES = {
    GeometryType.POINT: "Point",
    GeometryType.LINESTRING: "LineString",
    GeometryType.LINEARRING: "LineString",
    GeometryType.POLYGON: "Polygon",
    GeometryType.MULTIPOINT: "MultiPoint",
    GeometryType.MULTILINESTRING: "MultiLineString",
    GeometryType.MULTIPOLYGON: "MultiPolygon",
    GeometryType.GEOMETRYCOLLECTION: "GeometryCollection",
}
_MULTI_OF = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}
_FAMILY = {single: {single, multi} for single, multi in _MULTI_OF.items()} | {
    multi: {single, multi} for single, multi in _MULTI_OF.items()
}
_MAKE_MULTI = {"Point": shapely.multipoints, "LineString": shapely.multilinestrings, "Polygon": shapely.multipolygons}
Z_POLICIES = ("keep", "drop")
_WGS84 = pyproj.CRS.from_epsg(4326)


@dataclass(frozen=True)
class GeometryColumn:
    """The database type of a geometry column: ``geometry(MultiPolygon, 28992)``."""

    name: str
    type_name: str  # Point … MultiPolygon, GeometryCollection, or Geometry for a mix
    has_z: bool
    srid: int

    @property
    def sql_type(self) -> str:
        return f"geometry({self.type_name}{'Z' if self.has_z else ''}, {self.srid})"

    def accepts(self, type_name: str) -> bool:
        return self.type_name in ("Geometry", type_name)


def resolve_crs(value, parameter: str) -> pyproj.CRS:
    """A pyproj CRS from 'EPSG:28992', 28992, WKT or a CRS; LoadError naming ``parameter`` otherwise."""
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as error:
        raise LoadError(f"{parameter}={value!r} is not a coordinate reference system: {error}") from None


def same_crs(a: pyproj.CRS, b: pyproj.CRS) -> bool:
    """One CRS, whatever the axis order: OGC:CRS84 (GeoJSON's, GeoParquet's) is EPSG:4326 with longitude first."""
    return a.equals(b, ignore_axis_order=True)


def epsg_code(crs: pyproj.CRS) -> int | None:
    """The EPSG code of ``crs``: ESRI-style WKT such as 'RD_New' included, and OGC:CRS84 as 4326."""
    if same_crs(crs, _WGS84):
        return 4326
    return crs.to_epsg() or crs.to_epsg(min_confidence=70)


def epsg_of(crs: pyproj.CRS, parameter: str) -> int:
    """``epsg_code`` of ``crs``; LoadError if it has none."""
    code = epsg_code(crs)
    if code is None:
        raise LoadError(f"{parameter} {crs.name!r} has no EPSG code; reproject to an EPSG CRS, e.g. EPSG:28992")
    return code


class ColumnTyper:
    """The column type of one load, from every geometry seen so far: a MultiPolygon or a 3D geometry
    in the last batch counts as much as one in the first.

    Kinds of one family make the Multi type, other mixes ``Geometry``; a layer's declared Multi type
    is kept when the rows are of its family (a shapefile's polygon layer, a GeoPackage's MultiPolygon
    layer holding Polygons). ``fixed`` (the user's ``geometry_type``) is never widened: rows that do
    not fit it are an error. Z is kept when the geometries have it; 2D and 3D rows mixed are an error
    unless ``z='drop'``.
    """

    def __init__(self, name: str, srid: int, *, z: str, make_valid: bool, declared: str | None, fixed: str | None, where: str):
        self.name, self.srid, self.where = name, srid, where
        self.z, self.make_valid, self.declared, self.fixed = z, make_valid, declared, fixed
        self.kinds: set[str] = set()
        self.z_row: int | None = None  # first row with Z
        self.flat_row: int | None = None  # first row without

    def add(self, geometries: np.ndarray, first_row: int) -> None:
        """Take in a batch's geometries (missing and empty ones do not count)."""
        self.kinds |= _kinds(geometries)
        if self.z == "drop":
            return
        present = ~shapely.is_missing(geometries)
        if not present.any():
            return
        with_z = present & shapely.has_z(geometries)
        flat = present & ~with_z
        if with_z.any() and self.z_row is None:
            self.z_row = int(np.flatnonzero(with_z)[0]) + first_row
        if flat.any() and self.flat_row is None:
            self.flat_row = int(np.flatnonzero(flat)[0]) + first_row
        if self.z_row is not None and self.flat_row is not None:
            raise LoadError(
                f"{self.where}: row {self.z_row} has Z and row {self.flat_row} has none;"
                " pass z='drop' to store all in 2D"
            )

    @property
    def column(self) -> GeometryColumn:
        return GeometryColumn(name=self.name, type_name=self._type_name(), has_z=self.z_row is not None, srid=self.srid)

    def _type_name(self) -> str:
        if self.fixed:
            return self.fixed
        if not self.kinds:
            type_name = self.declared or "Geometry"
        else:
            type_name = common_type(set(self.kinds))
            if self.declared is not None and self.declared == _MULTI_OF.get(type_name):
                type_name = self.declared
        if self.make_valid and type_name in ("Polygon", "LineString"):
            type_name = _MULTI_OF[type_name]  # a repair can split one in parts
        return type_name


def _kinds(geometries: np.ndarray) -> set[str]:
    """The type names of the present, non-empty geometries."""
    type_ids = shapely.get_type_id(geometries)  # -1 for missing ones
    found = np.flatnonzero(np.bincount(type_ids + 1, minlength=1)[1:])
    if len(found) > 1:  # an empty geometry's type (often GEOMETRYCOLLECTION EMPTY) must not count
        found = np.flatnonzero(np.bincount(type_ids[~shapely.is_empty(geometries)] + 1, minlength=1)[1:])
    return {_NAMES[GeometryType(t)] for t in found}


def common_type(kinds: set[str]) -> str:
    """The one column type for geometries of these kinds: single and multi of one family make the
    Multi type, anything else mixed makes Geometry."""
    if len(kinds) == 1:
        return next(iter(kinds))
    if len(kinds) == 2:
        first = next(iter(kinds))
        if _FAMILY.get(first) == kinds:
            return next(k for k in kinds if k.startswith("Multi"))
    return "Geometry"


def widening(old: GeometryColumn, new: GeometryColumn, column_sql: str) -> str:
    """The SQL expression that turns the stored ``column_sql`` of type ``old`` into type ``new``.

    Rows made Multi for a Multi column go back to one part when the column becomes ``Geometry``, as in
    every Geometry column (``_single_parts``): what is stored must not depend on where batches end.
    """
    expression = column_sql
    if new.type_name.startswith("Multi") and not old.type_name.startswith("Multi"):
        expression = f"ST_Multi({expression})"
    if new.type_name == "Geometry" and old.type_name.startswith("Multi"):
        expression = f"CASE WHEN ST_NumGeometries({expression}) = 1 THEN ST_GeometryN({expression}, 1) ELSE {expression} END"
    if new.has_z and not old.has_z:
        expression = f"ST_Force3D({expression})"  # the rows so far have no geometry at all
    return expression


def normalised(geometries: np.ndarray, *, z: str) -> np.ndarray:
    """A copy with missing and empty geometries as None, and in 2D if ``z='drop'``."""
    geometries = np.asarray(geometries, dtype=object).copy()
    geometries[shapely.is_missing(geometries) | shapely.is_empty(geometries)] = None
    if z == "drop":
        present = ~shapely.is_missing(geometries)
        geometries[present] = shapely.force_2d(geometries[present])
    return geometries


@dataclass
class Prepared:
    """A batch's geometries as WKB for their column, and what was repaired on the way."""

    wkb: pa.Array
    repaired_rows: list[int]  # 1-based rows whose invalid geometry was repaired
    nulled_rows: list[int]  # rows whose geometry a repair reduced to nothing, stored as NULL


def reprojected(geometries: np.ndarray, transformer: pyproj.Transformer, *, include_z: bool) -> np.ndarray:
    """A copy of ``geometries`` (None where missing) in the transformer's target CRS."""
    result = geometries.copy()
    present = ~shapely.is_missing(result)
    result[present] = shapely.transform(result[present], transformer.transform, include_z=include_z, interleaved=False)
    return result


def swapped_xy(geometries: np.ndarray) -> np.ndarray:
    """``geometries`` with x and y exchanged (Z kept)."""
    return shapely.transform(geometries, lambda coordinates: coordinates[:, [1, 0, *range(2, coordinates.shape[1])]],
                             include_z=bool(shapely.has_z(geometries).any()))


def prepare(geometries: np.ndarray, column: GeometryColumn, *, make_valid: bool, where: str, first_row: int) -> Prepared:
    """WKB (NULL for missing) of ``normalised`` (and reprojected) geometries, ready for ``column``.

    ``where`` names the input (file and column) and ``first_row`` is the 1-based number of the first
    geometry, so errors can say which rows are at fault.
    """
    geometries = geometries.copy()
    present = ~shapely.is_missing(geometries)
    # GEOS checks validity without the GIL, so the check runs beside the encoding. A thread of this
    # call's own: a forked child inherits a long-lived pool's bookkeeping but not its thread.
    with ThreadPoolExecutor(max_workers=1) as beside:
        validity = beside.submit(shapely.is_valid, geometries[present])
        try:
            encoded = _encoded(geometries, column, where=where, first_row=first_row)
        except LoadError as error:
            encoded = error  # said only if every geometry is valid: invalid ones are the first thing to report
        invalid = present.copy()
        invalid[present] = ~validity.result()
    if invalid.any():
        if not make_valid:
            raise _invalid_error(geometries, invalid, where=where, first_row=first_row)
        geometries[invalid] = _repaired(geometries[invalid], has_z=column.has_z)
        collapsed = shapely.is_empty(geometries) & ~shapely.is_missing(geometries)
        geometries[collapsed] = None
        return Prepared(
            _encoded(geometries, column, where=where, first_row=first_row),
            repaired_rows=(np.flatnonzero(invalid & ~collapsed) + first_row).tolist(),
            nulled_rows=(np.flatnonzero(collapsed) + first_row).tolist(),
        )
    if isinstance(encoded, LoadError):
        raise encoded
    return Prepared(encoded, [], [])


def _repaired(geometries: np.ndarray, *, has_z: bool) -> np.ndarray:
    """GEOS's repair, without the empty parts it leaves in collections (a vertical face of a TIN), and
    in 3D where the column is (a part it rebuilds comes back 2D, which PostGIS refuses in a 3D whole)."""
    repaired = shapely.make_valid(geometries, method="structure", keep_collapsed=False)
    for index in np.flatnonzero(shapely.get_type_id(repaired) == GeometryType.GEOMETRYCOLLECTION):
        parts = [part for part in repaired[index].geoms if not part.is_empty]
        repaired[index] = shapely.GeometryCollection(parts) if parts else shapely.GeometryCollection()
    return shapely.force_3d(repaired) if has_z else repaired


def _encoded(geometries, column: GeometryColumn, *, where: str, first_row: int) -> pa.Array:
    geometries = _single_parts(_promote_to_multi(geometries, column), column)
    type_ids = shapely.get_type_id(geometries)
    _check_types(type_ids, column, where=where, first_row=first_row)
    if column.has_z:
        _check_z(geometries, where=where, first_row=first_row)
    return wkb.encode(geometries, output_dimension=3 if column.has_z else 2, type_ids=type_ids)


def _invalid_error(geometries, invalid, *, where: str, first_row: int) -> LoadError:
    count = int(invalid.sum())
    rows = np.flatnonzero(invalid)[:5] + first_row
    reason = shapely.is_valid_reason(geometries[invalid][0])
    return LoadError(
        f"{where}: {count} invalid geometr{'y' if count == 1 else 'ies'} (rows {', '.join(map(str, rows))}"
        f"{', …' if count > 5 else ''}; first: {reason}); pass make_valid=True to repair them"
    )


def _promote_to_multi(geometries, column: GeometryColumn):
    """``geometries``, or a copy with the single parts made multi if the column is Multi."""
    single = column.type_name.removeprefix("Multi")
    if not column.type_name.startswith("Multi") or single not in _MAKE_MULTI:
        return geometries
    singles = shapely.get_type_id(geometries) == GeometryType[single.upper()]
    if singles.any():
        geometries = geometries.copy()
        parts = geometries[singles]
        geometries[singles] = _MAKE_MULTI[single](parts, indices=np.arange(parts.size))
    return geometries


def _single_parts(geometries, column: GeometryColumn):
    """In a Geometry column, Multi geometries of one part as that part (a copy where any is changed)."""
    if column.type_name != "Geometry":
        return geometries
    type_ids = shapely.get_type_id(geometries)
    multi = np.isin(type_ids, [GeometryType.MULTIPOINT, GeometryType.MULTILINESTRING, GeometryType.MULTIPOLYGON])
    one_part = multi & (shapely.get_num_geometries(geometries) == 1)
    if not one_part.any():
        return geometries
    geometries = geometries.copy()
    geometries[one_part] = shapely.get_geometry(geometries[one_part], 0)
    return geometries


def _check_types(type_ids: np.ndarray, column: GeometryColumn, *, where: str, first_row: int) -> None:
    if column.type_name == "Geometry":
        return
    wrong = (type_ids >= 0) & (type_ids != GeometryType[column.type_name.upper()])
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        found = _NAMES[GeometryType(type_ids[row])]
        raise LoadError(
            f"{where}: row {row + first_row} is a {found} in a {column.type_name} column;"
            " pass geometry_type='Geometry' to allow mixed types"
        )


def _check_z(geometries, *, where: str, first_row: int) -> None:
    flat = ~shapely.is_missing(geometries) & ~shapely.has_z(geometries)
    if flat.any():
        row = int(np.flatnonzero(flat)[0]) + first_row
        raise LoadError(f"{where}: row {row} has no Z while others do; pass z='drop' to store all in 2D")
