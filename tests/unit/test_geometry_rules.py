"""The geometry rules: a column type decided over every batch, validity checked beside the encoding;
what they report and repair must not depend on which finishes first."""

import numpy as np
import pytest
import shapely

from analysis_lib import geometry as geo
from analysis_lib.errors import LoadError

BOWTIE = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
SQUARE = shapely.box(0, 0, 1, 1)
LINE = shapely.LineString([(0, 0), (1, 1)])
POLYGONS = geo.GeometryColumn(name="geom", type_name="Polygon", has_z=False, srid=28992)


def prepared(geometries, column=POLYGONS, *, make_valid=False):
    return geo.prepare(
        np.array(geometries, dtype=object), column, make_valid=make_valid, where="f.gpkg column geom", first_row=10
    )


def typer(**options):
    settings = {"z": "keep", "make_valid": False, "declared": None, "fixed": None} | options
    return geo.ColumnTyper("geom", 28992, where="f.gpkg column geom", **settings)


def test_invalid_geometries_are_reported_before_a_wrong_type():
    with pytest.raises(LoadError, match=r"f\.gpkg column geom: 1 invalid geometry \(rows 12; first: Self-intersection"):
        prepared([SQUARE, LINE, BOWTIE])


def test_a_wrong_type_is_reported_when_every_geometry_is_valid():
    with pytest.raises(LoadError, match=r"f\.gpkg column geom: row 11 is a LineString in a Polygon column"):
        prepared([SQUARE, LINE])


def test_repaired_geometries_are_counted_by_row_and_encoded_as_repaired():
    column = geo.GeometryColumn(name="geom", type_name="MultiPolygon", has_z=False, srid=28992)
    done = prepared([SQUARE, BOWTIE, None], column, make_valid=True)
    geometries = shapely.from_wkb(done.wkb.to_numpy(zero_copy_only=False))
    assert done.repaired_rows == [11] and done.nulled_rows == []
    assert shapely.get_type_id(geometries).tolist() == [shapely.GeometryType.MULTIPOLYGON] * 2 + [-1]
    assert shapely.is_valid(geometries[:2]).all()
    assert geometries[1].area == pytest.approx(2.0)  # the bowtie's two triangles, kept whole


def test_a_multipolygon_in_the_last_batch_makes_the_column_multi():
    types = typer()
    for start in range(1, 40_001, 10_000):
        types.add(np.array([SQUARE] * 10_000, dtype=object), start)
    assert types.column.type_name == "Polygon"
    types.add(np.array([shapely.MultiPolygon([SQUARE])], dtype=object), 40_001)
    assert types.column.type_name == "MultiPolygon"
    types.add(np.array([LINE], dtype=object), 40_002)
    assert types.column.type_name == "Geometry"


def test_z_from_any_batch_and_2d_beside_3d_is_named_by_row():
    types = typer()
    types.add(np.array([None, None], dtype=object), 1)
    types.add(np.array([shapely.Point(1, 2, 3)], dtype=object), 3)
    assert types.column.has_z
    with pytest.raises(LoadError, match=r"row 3 has Z and row 9 has none; pass z='drop'"):
        types.add(np.array([shapely.Point(1, 2)], dtype=object), 9)


def test_a_declared_multi_type_is_kept_only_for_rows_of_its_family():
    shapefile_polygons = typer(declared="MultiPolygon")
    shapefile_polygons.add(np.array([SQUARE], dtype=object), 1)
    assert shapefile_polygons.column.type_name == "MultiPolygon"
    mislabelled = typer(declared="MultiPolygon")
    mislabelled.add(np.array([shapely.Point(1, 2)], dtype=object), 1)
    assert mislabelled.column.type_name == "Point"


def test_a_fixed_type_is_never_widened():
    fixed = typer(fixed="Polygon")
    fixed.add(np.array([shapely.MultiPolygon([SQUARE])], dtype=object), 1)
    assert fixed.column.type_name == "Polygon"
