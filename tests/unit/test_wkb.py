"""The numpy point path must give exactly what shapely gives, and step aside for anything else."""

import gc

import numpy as np
import pyarrow as pa
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from analysis_lib import wkb


def test_points_encode_to_the_same_bytes_as_shapely():
    geometries = np.array([shapely.Point(121380.5, 487380.25), None, shapely.Point(-1e-9, 1e300)], dtype=object)
    encoded = wkb.encode(geometries)
    assert encoded.to_pylist() == [shapely.to_wkb(g) if g is not None else None for g in geometries]
    assert encoded.null_count == 1


COORDINATE = st.floats(allow_nan=False, allow_infinity=False, width=64)
POINTS = st.tuples(COORDINATE, COORDINATE)
RING = st.lists(POINTS, min_size=3, max_size=6)
LINES = st.lists(POINTS, min_size=2, max_size=6).map(shapely.LineString)
POLYGONS = st.tuples(RING, st.lists(RING, max_size=3)).map(lambda rings: shapely.Polygon(rings[0], rings[1]))


SOME_LINES_OR_POLYGONS = (
    st.sampled_from([LINES, POLYGONS])
    .flatmap(lambda shapes: st.lists(st.none() | shapes, min_size=1, max_size=8))
    .filter(lambda shapes: any(shape is not None for shape in shapes))
)


@given(SOME_LINES_OR_POLYGONS)
def test_lines_and_polygons_encode_to_the_same_bytes_as_shapely(shapes):
    geometries = np.array(shapes + [None], dtype=object)[:-1]  # a 1-d object array even for one geometry
    expected = [None if g is None else shapely.to_wkb(g) for g in geometries]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shapely, "to_wkb", lambda *args, **kwargs: pytest.fail("took shapely's path"))
        encoded = wkb.encode(geometries)
    assert encoded.to_pylist() == expected
    assert encoded.null_count == expected.count(None)


@pytest.mark.parametrize(
    ("geometries", "output_dimension"),
    [
        pytest.param([shapely.box(0, 0, 1, 1), shapely.Polygon()], 2, id="an empty polygon"),
        pytest.param([shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])], 2, id="multipolygon"),
        pytest.param([shapely.Point(1, 2), shapely.box(0, 0, 1, 1)], 2, id="mixed types"),
        pytest.param([shapely.Point(1, 2, 3)], 3, id="3d"),
    ],
)
def test_what_the_numpy_paths_do_not_take_goes_through_shapely(geometries, output_dimension, monkeypatch):
    geometries = np.array(geometries, dtype=object)
    expected = shapely.to_wkb(geometries, output_dimension=output_dimension).tolist()
    real_to_wkb, calls = shapely.to_wkb, []
    monkeypatch.setattr(shapely, "to_wkb", lambda *args, **kwargs: calls.append(1) or real_to_wkb(*args, **kwargs))
    assert wkb.encode(geometries, output_dimension=output_dimension).to_pylist() == expected
    assert calls, "shapely was not asked"


def test_ewkb_points_decode_with_their_srid():
    points = [shapely.set_srid(shapely.Point(x, x + 0.5), 28992) for x in range(5)]
    ewkb = [shapely.to_wkb(p, include_srid=True) for p in points] + [None]
    geometries, srids = wkb.decode(pa.chunked_array([pa.array(ewkb[:3], pa.binary()), pa.array(ewkb[3:], pa.binary())]))
    assert srids == {28992}
    assert all(g.equals(p) for g, p in zip(geometries[:5], points, strict=True))
    assert geometries[5] is None


def test_decode_falls_back_to_shapely_for_anything_else():
    values = [shapely.to_wkb(shapely.box(0, 0, 1, 1)), shapely.to_wkb(shapely.Point(1, 2)), shapely.to_wkb(shapely.Point())]
    geometries, srids = wkb.decode(pa.array(values, pa.binary()))
    assert geometries[0].geom_type == "Polygon" and geometries[2].is_empty
    assert srids == {0}
    empty_only, _ = wkb.decode(pa.array([shapely.to_wkb(shapely.Point())], pa.binary()))
    assert empty_only[0].is_empty


def test_decoding_pauses_the_garbage_collector_and_restores_it(monkeypatch):
    point = pa.array([shapely.to_wkb(shapely.Point(1, 2))], pa.binary())
    seen = []
    real_points = shapely.points
    monkeypatch.setattr(shapely, "points", lambda *args, **kwargs: seen.append(gc.isenabled()) or real_points(*args, **kwargs))
    geometries, _ = wkb.decode(point)
    assert seen == [False] and gc.isenabled()
    assert geometries[0].equals(shapely.Point(1, 2))

    with pytest.raises(shapely.errors.GEOSException):
        wkb.decode(pa.array([b"\x01\x03\x00\x00\x00broken"], pa.binary()))
    assert gc.isenabled(), "a failed decode turns the collector back on"

    gc.disable()
    try:
        wkb.decode(pa.array([shapely.to_wkb(shapely.box(0, 0, 1, 1))], pa.binary()))
        assert not gc.isenabled(), "a collector the caller paused stays paused"
    finally:
        gc.enable()


def test_mended_rings_keep_the_srid_of_ewkb():
    import struct

    from analysis_lib.sources.geometries import _rings_repaired

    shell = struct.pack("<10d", 0, 0, 4, 0, 4, 4, 0, 4, 0, 0)
    ewkb = struct.pack("<BIIII", 1, 3 | 0x20000000, 28992, 2, 5) + shell + struct.pack("<I4d", 2, 1, 1, 1, 1)
    mended = shapely.from_wkb(_rings_repaired(ewkb))
    assert shapely.get_srid(mended) == 28992 and mended.area == 16 and not mended.interiors
