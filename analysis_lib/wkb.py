"""Geometries <-> WKB as Arrow arrays.

shapely encodes and decodes every geometry type. Plain 2D points, the rows of the biggest tables
(reports, containers, addresses), take a numpy path instead: their WKB is a fixed 21 bytes (25 as
PostGIS's EWKB, with the SRID), so coordinates can be copied in and out of one buffer at once, about
ten times faster than a geometry object at a time. 2D LineStrings and Polygons (parcels, buildings,
roads) are encoded the same way: all coordinates are fetched in one call and written, with the
headers, at positions computed from the counts (100k polygons of 29 vertices: 0.15 s instead of 0.28 s
for ``shapely.to_wkb`` and the copy into Arrow).

Making shapely geometries is dominated by Python's cyclic garbage collector, not by GEOS: every
geometry is a tracked object, so a million of them set off hundreds of collections, each walking
every object alive. Decoding pauses the collector (a million points: 0.45 s -> 0.13 s here).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import shapely

_LITTLE_ENDIAN = 1
_POINT = 1
_LINESTRING = 2
_POLYGON = 3
_HEADER = np.dtype([("byte_order", "u1"), ("type", "<u4"), ("count", "<u4")])  # packed: 9 bytes
_EWKB_SRID_FLAG = 0x20000000
_POINT_BYTES = 21  # byte order, type, x, y
_EWKB_POINT_BYTES = 25  # byte order, type, SRID, x, y


def encode(geometries: np.ndarray, *, output_dimension: int = 2, type_ids: np.ndarray | None = None) -> pa.Array:
    """ISO WKB of ``geometries`` (None -> NULL) as an Arrow binary array; ``type_ids``, if the caller
    has them, are ``shapely.get_type_id(geometries)``."""
    if type_ids is None:
        type_ids = shapely.get_type_id(geometries)
    present = type_ids >= 0
    kinds = set(np.flatnonzero(np.bincount(type_ids[present], minlength=1)).tolist())
    if output_dimension == 2 and kinds == {shapely.GeometryType.POINT}:
        return _encode_points(geometries, present)
    if output_dimension == 2 and len(kinds) == 1 and kinds <= {shapely.GeometryType.LINESTRING, shapely.GeometryType.POLYGON}:
        encoded = _encode_lines_or_polygons(geometries, present, polygons=kinds == {shapely.GeometryType.POLYGON})
        if encoded is not None:
            return encoded
    return pa.array(shapely.to_wkb(geometries, output_dimension=output_dimension), pa.binary())


def _encode_points(geometries: np.ndarray, present: np.ndarray) -> pa.Array:
    xy = shapely.get_coordinates(geometries[present])
    records = np.empty((len(xy), _POINT_BYTES), dtype=np.uint8)
    records[:, 0] = _LITTLE_ENDIAN
    records[:, 1:5] = np.frombuffer(np.uint32(_POINT).astype("<u4").tobytes(), dtype=np.uint8)
    records[:, 5:] = np.ascontiguousarray(xy, dtype="<f8").view(np.uint8).reshape(len(xy), 16)
    return _binary_array(np.where(present, _POINT_BYTES, 0), present, records)


def _encode_lines_or_polygons(geometries: np.ndarray, present: np.ndarray, *, polygons: bool) -> pa.Array | None:
    """2D LineStrings, or Polygons, as WKB; None (use shapely) if any is empty or the batch tops 2 GiB.

    A "run" is a sequence of coordinates: a LineString, or one ring of a Polygon. Before each run's
    coordinates come its headers: a LineString's 9-byte header (byte order, type, point count); for a
    ring, its Polygon's 9-byte header (byte order, type, ring count) if it is the exterior ring, then
    the ring's 4-byte point count.
    """
    shapes = geometries[present]
    if polygons and shapely.get_num_interior_rings(shapes).any():
        runs, owner = shapely.get_rings(shapes, return_index=True)
    else:
        runs, owner = shapes, np.arange(len(shapes))
    if shapely.is_empty(runs).any():
        return None
    points_per_run = shapely.get_num_coordinates(runs)
    coordinates = np.ascontiguousarray(shapely.get_coordinates(runs), dtype="<f8")
    opens_shape = np.r_[True, owner[1:] != owner[:-1]]
    header_bytes = np.where(opens_shape, 9 + 4, 4) if polygons else np.full(len(runs), 9)
    run_bytes = header_bytes + 16 * points_per_run
    run_start = np.zeros(len(runs) + 1, np.int64)
    np.cumsum(run_bytes, out=run_start[1:])
    if run_start[-1] >= 2**31:
        return None
    data = np.empty(int(run_start[-1]), np.uint8)
    start = run_start[:-1]
    if polygons:
        _write_at(data, start[opens_shape], _headers(_POLYGON, np.bincount(owner, minlength=len(shapes))))
        _write_at(data, start + header_bytes - 4, points_per_run.astype("<u4"))
    else:
        _write_at(data, start, _headers(_LINESTRING, points_per_run))
    first_point = np.cumsum(points_per_run) - points_per_run
    point_start = np.repeat(start + header_bytes - 16 * first_point, points_per_run) + 16 * np.arange(len(coordinates))
    _write_at(data, point_start, coordinates.view("V16").ravel())
    shape_bytes = np.zeros(len(geometries), np.int64)
    shape_bytes[present] = np.bincount(owner, weights=run_bytes, minlength=len(shapes))
    return _binary_array(shape_bytes, present, data)


def _binary_array(row_bytes: np.ndarray, present: np.ndarray, data: np.ndarray) -> pa.Array:
    """An Arrow binary array over ``data``, row i taking the next ``row_bytes[i]`` bytes (NULL where not present)."""
    offsets = np.zeros(len(row_bytes) + 1, dtype=np.int32)
    np.cumsum(row_bytes, out=offsets[1:])
    validity = pa.array(present).buffers()[1] if not present.all() else None
    return pa.Array.from_buffers(
        pa.binary(), len(row_bytes), [validity, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=int((~present).sum())
    )


def _headers(type_code: int, counts: np.ndarray) -> np.ndarray:
    headers = np.empty(len(counts), _HEADER)
    headers["byte_order"] = _LITTLE_ENDIAN
    headers["type"] = type_code
    headers["count"] = counts
    return headers


def _write_at(data: np.ndarray, positions: np.ndarray, values: np.ndarray) -> None:
    """Write each of ``values`` at its own byte position in ``data`` (positions need no alignment)."""
    width = values.dtype.itemsize
    slots = np.ndarray((len(data) - width + 1,), dtype=values.dtype, buffer=data, strides=(1,))
    slots[positions] = values


def decode(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, set[int]]:
    """Shapely geometries (None for NULL) from (E)WKB, and the set of SRIDs they carry (0: none)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if isinstance(array.type, pa.ExtensionType):
        array = array.storage
    with collector_paused():
        points = _decode_points(array)
        if points is not None:
            return points
        geometries = shapely.from_wkb(array.to_numpy(zero_copy_only=False))
    present = geometries[~shapely.is_missing(geometries)]
    return geometries, set(shapely.get_srid(present).tolist())


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while many geometry objects are made."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decode_points(array: pa.Array) -> tuple[np.ndarray, set[int]] | None:
    """Plain 2D points with or without SRID, all alike; None when the array holds anything else."""
    if len(array) == 0 or array.null_count == len(array):
        return None
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[array.offset : array.offset + len(array) + 1]
    lengths = np.diff(offsets)
    present = ~np.asarray(array.is_null())
    width = int(lengths[present][0])
    if width not in (_POINT_BYTES, _EWKB_POINT_BYTES) or not (lengths[present] == width).all():
        return None
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, width)
    expected_type = _POINT | (_EWKB_SRID_FLAG if width == _EWKB_POINT_BYTES else 0)
    if not ((data[:, 0] == _LITTLE_ENDIAN).all() and (data[:, 1:5].copy().view("<u4")[:, 0] == expected_type).all()):
        return None
    srids = {0} if width == _POINT_BYTES else set(np.unique(data[:, 5:9].copy().view("<i4")[:, 0]).tolist())
    xy = data[:, width - 16 :].copy().view("<f8")
    if np.isnan(xy).any():  # POINT EMPTY is written as NaN coordinates
        return None
    geometries = np.full(len(array), None, dtype=object)
    geometries[present] = shapely.points(xy)
    return geometries, srids
