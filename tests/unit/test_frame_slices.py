"""A DataFrame is copied in slices bounded by rows and by geometry coordinates."""

import numpy as np
import shapely

from analysis_lib.sources import frame


def test_one_coordinate_per_row_gives_slices_of_rows():
    points = shapely.points(np.arange(120_000), np.arange(120_000))
    assert list(frame.slices(len(points), points)) == [(0, 50_000), (50_000, 100_000), (100_000, 120_000)]


def test_big_shapes_make_smaller_slices_and_a_huge_one_gets_its_own(monkeypatch):
    monkeypatch.setattr(frame, "FRAME_CHUNK_COORDINATES", 100)
    square = shapely.box(0, 0, 1, 1)  # 5 coordinates
    huge = shapely.Point(0, 0).buffer(1, quad_segs=64)  # 257 coordinates
    shapes = np.array([square] * 30 + [None, huge] + [square] * 3, dtype=object)
    slices = list(frame.slices(len(shapes), shapes))
    assert slices == [(0, 20), (20, 31), (31, 32), (32, 35)]
    assert [n for start, stop in slices if (n := shapely.get_num_coordinates(shapes[start:stop]).sum()) > 100] == [257]


def test_a_frame_without_geometry_is_sliced_by_rows():
    assert list(frame.slices(50_001, None)) == [(0, 50_000), (50_000, 50_001)]
