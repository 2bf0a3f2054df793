"""Property: whatever analysts put in a (Geo)DataFrame comes back from load() -> read() unchanged."""

import datetime as dt
import uuid
import zoneinfo

import geopandas as gpd
import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis_lib as al

AMSTERDAM = zoneinfo.ZoneInfo("Europe/Amsterdam")
ROWS = st.integers(min_value=1, max_value=6)
# PostgreSQL text cannot hold NUL; everything else (quotes, tabs, newlines, backslashes, emoji) must survive
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
JSON_SCALARS = st.none() | st.booleans() | st.integers(-(2**31), 2**31) | TEXT
JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
COORDINATE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def column(values, rows):
    return st.lists(st.none() | values, min_size=rows, max_size=rows)


def point(z: bool):
    return st.tuples(COORDINATE, COORDINATE, *([COORDINATE] if z else [])).map(shapely.Point)


def geometries_of(kind: str):
    ring = st.tuples(COORDINATE, COORDINATE, st.floats(1, 1e4), st.floats(1, 1e4)).map(
        lambda b: shapely.box(b[0], b[1], b[0] + b[2], b[1] + b[3])
    )
    line = st.lists(st.tuples(COORDINATE, COORDINATE), min_size=2, max_size=4, unique=True).map(shapely.LineString)
    kinds = {
        "Point": point(z=False),
        "PointZ": point(z=True),
        "LineString": line,
        "Polygon": ring,
        "MultiPoint": st.lists(point(z=False), min_size=1, max_size=3).map(shapely.MultiPoint),
        "MultiLineString": st.lists(line, min_size=1, max_size=3).map(shapely.MultiLineString),
        "MultiPolygon": st.lists(ring, min_size=1, max_size=2).map(lambda rings: shapely.MultiPolygon(rings)),
    }
    # invalid geometries are refused by design (tested elsewhere); the round trip is about valid ones
    return kinds[kind].filter(lambda geometry: geometry.is_valid)


@st.composite
def frames(draw):
    rows = draw(ROWS)
    kind = draw(st.sampled_from(["Point", "PointZ", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"]))
    geometry = draw(column(geometries_of(kind), rows))
    if all(g is None for g in geometry):
        geometry[0] = draw(geometries_of(kind))
    return gpd.GeoDataFrame(
        {
            "whole": pd.array(draw(column(st.integers(-(2**63), 2**63 - 1), rows)), dtype="Int64"),
            "real": draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=rows, max_size=rows)),
            "flag": pd.array(draw(column(st.booleans(), rows)), dtype="boolean"),
            "words": pd.Series(draw(column(TEXT, rows)), dtype=object),
            "moment": pd.Series(
                draw(column(st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1), timezones=st.just(AMSTERDAM)), rows)),
                dtype=object,
            ).pipe(lambda s: pd.to_datetime(s, utc=True)),
            "day": pd.Series(draw(column(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)), rows)), dtype=object),
            "amount": pd.Series(draw(column(st.decimals(-(10**12), 10**12, places=4), rows)), dtype=object),
            "extra": pd.Series(draw(column(st.dictionaries(TEXT, JSON, max_size=3), rows)), dtype=object),
            "counts": pd.Series(draw(column(st.lists(st.integers(-1000, 1000), max_size=4), rows)), dtype=object),
        },
        geometry=geometry,
        crs="EPSG:28992",
    )


def same(left, right) -> bool:
    if isinstance(left, list | dict) or isinstance(right, list | dict):
        return left == right
    if isinstance(left, shapely.Geometry) or isinstance(right, shapely.Geometry):
        return (
            isinstance(left, shapely.Geometry)
            and isinstance(right, shapely.Geometry)
            and shapely.equals_exact(left, right, tolerance=0)
            and shapely.has_z(left) == shapely.has_z(right)
        )
    if pd.isna(left) or pd.isna(right):  # None, NaN (stored as NULL), NaT, NA
        return bool(pd.isna(left) and pd.isna(right))
    return bool(left == right)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frame=frames())
def test_load_then_read_returns_the_same_values(schema, frame):
    table = f"t_{uuid.uuid4().hex[:10]}"
    al.load(frame, table, schema=schema, check_extent=False)  # any float coordinate, not only Dutch ones
    back = al.read(f"SELECT * FROM {schema}.{table}")
    assert list(back.columns) == list(frame.columns)
    assert back.crs == frame.crs
    for name in frame.columns:
        for row, (expected, got) in enumerate(zip(frame[name].tolist(), back[name].tolist(), strict=True)):
            assert same(expected, got), (name, row, expected, got)
