"""geometry.prepare checks validity beside the encoding; what it reports and repairs must not depend on
which of the two finishes first."""

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
        np.array(geometries, dtype=object), column, transformer=None, make_valid=make_valid, z="keep", where="f.gpkg column geom", first_row=10
    )


def test_invalid_geometries_are_reported_before_a_wrong_type():
    with pytest.raises(LoadError, match=r"f\.gpkg column geom: 1 invalid geometry \(rows 12; first: Self-intersection"):
        prepared([SQUARE, LINE, BOWTIE])


def test_a_wrong_type_is_reported_when_every_geometry_is_valid():
    with pytest.raises(LoadError, match=r"f\.gpkg column geom: row 11 is a LineString in a Polygon column"):
        prepared([SQUARE, LINE])


def test_repaired_geometries_are_counted_and_encoded_as_repaired():
    column = geo.GeometryColumn(name="geom", type_name="MultiPolygon", has_z=False, srid=28992)
    wkb, repaired = prepared([SQUARE, BOWTIE, None], column, make_valid=True)
    geometries = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
    assert repaired == 1
    assert shapely.get_type_id(geometries).tolist() == [shapely.GeometryType.MULTIPOLYGON] * 2 + [-1]
    assert shapely.is_valid(geometries[:2]).all()
    assert geometries[1].area == pytest.approx(2.0)  # the bowtie's two triangles, kept whole
