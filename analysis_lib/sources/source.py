"""What every input medium hands the planner: its columns and what their values are, its own geometry
if it has one, and a reader of its batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyproj

from .encoding import Encoding
from .geometries import Decoded
from .text_types import TextEvidence


@dataclass
class Column:
    """An attribute column as the input has it."""

    name: str  # as the input names it
    type: pa.DataType  # as the input gives it; text cells (CSV) are strings whose evidence decides
    evidence: TextEvidence | None = None  # what every value of a text-cell column is
    json: bool = False  # the values are JSON text (a frame's dicts and nested lists)
    bounds_of_geometry: bool = False  # GeoParquet 1.1's covering bbox: the geometries' bounds, in their CRS


@dataclass
class OwnGeometry:
    """The geometry column a format has of itself (OGR layers, GeoParquet, GeoDataFrames)."""

    name: str  # the name the input gives it
    crs: pyproj.CRS | None
    declared_type: str | None = None  # what the layer says it holds; None: the rows decide
    values: np.ndarray | None = None  # every geometry, when the input is in memory (a GeoDataFrame)


@dataclass
class RawBatch:
    """Rows as read: the columns asked for (text cells still text) and the input's own geometries."""

    table: pa.Table
    geometries: Decoded | None
    first_row: int  # 1-based number of the batch's first row in the input


@dataclass
class Source:
    """An opened input. ``read(columns, make_valid)`` yields its batches with those columns."""

    name: str
    columns: list[Column]
    read: Callable[[list[str], bool], Iterator[RawBatch]]
    geometry: OwnGeometry | None = None
    total: int | None = None
    encoding: Encoding | None = None
    decimal: str = "."
    tabular: bool = False  # cells in rows (CSV, XLSX): geometries may come from columns
    types_from_values: bool = False  # text cells typed by their values (CSV), not by the format
    notes: list[str] = field(default_factory=list)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)
