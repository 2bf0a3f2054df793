"""Coordinates checked against the CRS they are said to be in, and the one they are stored in.

Every CRS has an area of use (pyproj's ``area_of_use``: RD New is the Netherlands). Geometries outside
it, with a margin, are almost always a wrong ``crs`` (degrees labelled as RD metres put Amsterdam in
the sea off Africa) or swapped x and y; reprojected into a CRS outside its area, they are distorted
(areas and distances wrong, rings crossing themselves). Either way the load stops with their count,
the first rows and the likely cause. ``check_extent=False`` is for data that really lies outside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely

from .errors import LoadError
from .geometry import epsg_code

_MARGIN = 0.1  # of the area of use's width and height, on each side
_SHOWN_ROWS = 5
_RD_NEW = 28992


@dataclass(frozen=True)
class Area:
    """Where a CRS is used, as a box in its own coordinates (x, y with ``always_xy``)."""

    crs: pyproj.CRS
    label: str  # 'EPSG:28992 (Amersfoort / RD New)'
    where: str  # the area of use's name
    bounds: tuple[float, float, float, float]

    def inside(self, xy_bounds: np.ndarray) -> np.ndarray:
        """Which of the (n, 4) bounds (xmin, ymin, xmax, ymax) lie inside."""
        xmin, ymin, xmax, ymax = self.bounds
        return (xy_bounds[:, 0] >= xmin) & (xy_bounds[:, 1] >= ymin) & (xy_bounds[:, 2] <= xmax) & (xy_bounds[:, 3] <= ymax)


def area_of(crs: pyproj.CRS) -> Area | None:
    """The area of use of ``crs`` (or of its EPSG equivalent), widened by the margin; None if unknown."""
    use = crs.area_of_use
    code = epsg_code(crs)
    if use is None and code:  # a WKT without its area (GDAL's reading of CRS84 names, ESRI .prj files)
        use = pyproj.CRS.from_epsg(code).area_of_use
    if use is None:
        return None
    west, south, east, north = use.bounds
    if west > east:  # across the antimeridian (NAD83, New Zealand): one box of all longitudes
        west, east = -180.0, 180.0
    dx, dy = (east - west) * _MARGIN, (north - south) * _MARGIN
    box = (west - dx, south - dy, east + dx, north + dy)
    label = f"EPSG:{code} ({crs.name})" if code else crs.name
    where = use.name.rstrip(".")
    if crs.is_geographic:
        return Area(crs, label, where, box)
    to_crs = pyproj.Transformer.from_crs(pyproj.CRS.from_epsg(4326), crs, always_xy=True)
    return Area(crs, label, where, to_crs.transform_bounds(*box, densify_pts=21))


@dataclass
class OutsideArea:
    """Geometries outside their CRS's area, gathered over a whole load for one error."""

    area: Area
    where: str
    stored: bool = False  # the area of the CRS they are reprojected to, not the one they are in
    count: int = 0
    checked: int = 0
    rows: list[int] = field(default_factory=list)
    first: tuple[float, float] | None = None
    bounds: np.ndarray = field(default_factory=lambda: np.array([np.inf, np.inf, -np.inf, -np.inf]))
    swapped_inside: bool = True

    def check(
        self, geometries: np.ndarray, first_row: int, *, swapped: Callable[[np.ndarray], np.ndarray] | None = None,
        shown: np.ndarray | None = None,
    ) -> None:
        """Take in a batch (missing geometries are skipped). ``swapped(rows)`` gives those rows' geometries
        as they would be with x and y swapped in the input (default: their own x and y swapped); the first
        offender is shown by its coordinates in ``shown`` (default: ``geometries``), as the input has them."""
        present = np.flatnonzero(~shapely.is_missing(geometries))
        self.checked += len(present)
        if not len(present):
            return
        boxes = shapely.bounds(geometries[present])
        outside = ~self.area.inside(boxes)
        if not outside.any():
            return
        off = boxes[outside]
        self.count += int(outside.sum())
        if len(self.rows) < _SHOWN_ROWS:
            self.rows += (present[outside][: _SHOWN_ROWS - len(self.rows)] + first_row).tolist()
        if self.first is None:
            first = (shown if shown is not None else geometries)[present[outside][0]]
            x, y = shapely.get_coordinates(first)[0]
            self.first = (float(x), float(y))
        self.bounds = np.r_[np.minimum(self.bounds[:2], off[:, :2].min(axis=0)), np.maximum(self.bounds[2:], off[:, 2:].max(axis=0))]
        if swapped is None:
            self.swapped_inside &= bool(self.area.inside(off[:, [1, 0, 3, 2]]).all())
        else:
            self.swapped_inside &= bool(self.area.inside(shapely.bounds(swapped(present[outside]))).all())

    def error(self) -> LoadError | None:
        if not self.count:
            return None
        xmin, ymin, xmax, ymax = self.area.bounds
        rows = ", ".join(map(str, self.rows)) + (", …" if self.count > len(self.rows) else "")
        x, y = self.first
        role = "the target CRS " if self.stored else ""
        cause = self._stored_cause() if self.stored else self._likely_cause()
        return LoadError(
            f"{self.where}: {self.count:,} of {self.checked:,} geometries lie outside the area where {role}{self.area.label} is used"
            f" ({self.area.where}: x {xmin:,.6g} to {xmax:,.6g}, y {ymin:,.6g} to {ymax:,.6g}); rows {rows}, the first at"
            f" ({x:.6g}, {y:.6g}). {cause} Nothing was loaded; pass check_extent=False if they really lie there"
        )

    def _stored_cause(self) -> str:
        if self.swapped_inside:
            return "x and y look swapped (longitude and latitude the other way round)."
        return (
            "Reprojected there they would be distorted: keep them in their own CRS with target_crs=None,"
            " or choose a target_crs made for where they are."
        )

    def _likely_cause(self) -> str:
        xmin, ymin, xmax, ymax = self.bounds
        in_degrees = -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90
        if self.area.crs.is_projected and in_degrees:
            return "These look like degrees (longitude, latitude): did you mean crs='EPSG:4326'?"
        if self.swapped_inside:
            return "x and y look swapped: name the columns the other way round (x=…, y=…), or swap the axes in the source."
        if self.area.crs.is_geographic and _inside_rd_new(self.bounds):
            return "These look like RD New metres: did you mean crs='EPSG:28992'?"
        if self.area.crs.is_geographic and max(abs(xmin), abs(xmax), abs(ymin), abs(ymax)) > 1000:
            return (
                "These look like projected coordinates (metres), not degrees: give crs= the CRS they are in"
                " (also when the file says otherwise: crs= wins where the coordinates contradict the file)."
            )
        return "They may be in another CRS than the one given, or lie outside it indeed."


def _inside_rd_new(bounds: np.ndarray) -> bool:
    rd = area_of(pyproj.CRS.from_epsg(_RD_NEW))
    return bool(rd.inside(bounds.reshape(1, 4))[0])
