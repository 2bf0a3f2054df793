"""load() and read() against the real PostGIS: types, atomicity, locking, indexes."""

import datetime as dt
import decimal
import os
import signal
import subprocess
import sys
import threading
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely

import analysis_lib as al
from db_snapshot import snapshot


def buurten(n: int = 3, *, offset: int = 0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "Buurt Code": [f"AF{offset + i:04d}" for i in range(n)],
            "Inwoners": np.arange(n, dtype="int64") * 10,
        },
        # a grid of 90 m squares, 200 to a row, from the south-west of Amsterdam
        geometry=[shapely.box(*_corner(i), *(c + 90 for c in _corner(i))) for i in range(offset, offset + n)],
        crs="EPSG:28992",
    )


def _corner(i: int) -> tuple[int, int]:
    return 110_000 + (i % 200) * 100, 476_000 + (i // 200) * 100


def column_types(schema: str, table: str) -> dict[str, str]:
    frame = al.read_sql(
        "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
        " WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped",
        {"t": f'"{schema}"."{table}"'},
    )
    return dict(zip(frame["attname"], frame["type"], strict=True))


def test_every_supported_type_survives_load_and_read(schema):
    frame = gpd.GeoDataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "i": np.array([1, 2, 3], dtype="int64"),
            "f": [0.5, np.nan, -1e300],
            "b": [True, False, True],
            "s": ["tab\there", "quote ' and \" and \\", None],
            "d": [dt.date(2024, 1, 31), None, dt.date(1999, 12, 31)],
            "t": pd.to_datetime(["2024-03-31 01:30", None, "2024-10-27 02:30"]).tz_localize("Europe/Amsterdam", ambiguous=True),
            "m": [decimal.Decimal("12345678901234.5678"), None, decimal.Decimal("-0.0001")],
            "j": [{"categorie": "afval", "prio": [1, 2]}, None, {"leeg": {}}],
            "a": [["x", "y"], [], None],
        },
        geometry=[shapely.Point(121380, 487380), None, shapely.Point(121000, 487000)],
        crs="EPSG:28992",
    )
    al.load(frame, "alles", schema=schema)
    back = al.read(f"{schema}.alles")

    assert column_types(schema, "alles") == {
        "n": "bigint", "i": "bigint", "f": "double precision", "b": "boolean", "s": "text", "d": "date",
        "t": "timestamp with time zone", "m": "numeric", "j": "jsonb", "a": "text[]",
        "geometry": "geometry(Point,28992)",
    }
    assert back.crs.to_epsg() == 28992
    assert str(back["n"].dtype) == "Int64" and back["n"].isna().tolist() == [False, True, False]
    assert back["i"].dtype == np.int64 and back["i"].tolist() == [1, 2, 3]
    assert back["f"].iloc[0] == 0.5 and np.isnan(back["f"].iloc[1]) and back["f"].iloc[2] == -1e300
    assert back["b"].tolist() == [True, False, True]
    assert back["s"].tolist()[:2] == ["tab\there", "quote ' and \" and \\"] and pd.isna(back["s"].iloc[2])
    assert back["d"].tolist() == [dt.date(2024, 1, 31), None, dt.date(1999, 12, 31)]
    assert back["t"].iloc[0] == frame["t"].iloc[0] and back["t"].iloc[2] == frame["t"].iloc[2] and pd.isna(back["t"].iloc[1])
    assert back["m"].tolist() == frame["m"].tolist()
    assert back["j"].tolist() == frame["j"].tolist()
    assert back["a"].tolist() == [["x", "y"], [], None]
    assert back.geometry.iloc[0].equals(shapely.Point(121380, 487380)) and back.geometry.iloc[1] is None


def test_load_builds_the_spatial_index_primary_key_and_statistics(schema):
    report = al.load(buurten(5), "buurten", schema=schema, primary_key="Buurt Code")
    assert report.rows == 5
    assert report.renamed == {"Buurt Code": "buurt_code", "Inwoners": "inwoners"}
    assert column_types(schema, "buurten")["geometry"] == "geometry(Polygon,28992)"
    indexes = al.read_sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s", {"s": schema})
    definitions = dict(zip(indexes["indexname"], indexes["indexdef"], strict=True))
    assert "USING gist (geometry)" in definitions["buurten_geometry_gist"]
    assert "(buurt_code)" in definitions["buurten_pkey"]
    analysed = al.read_sql(
        "SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = :s AND relname = 'buurten'", {"s": schema}
    )
    assert analysed["last_analyze"].notna().all()


def test_a_new_table_is_filled_without_writing_its_rows_to_the_wal(schema):
    """The staging table is created and filled in the load's one transaction, so (wal_level=minimal)
    PostgreSQL writes its rows and index straight to the table's files, not to the WAL as well. The
    WAL position is cluster-wide and autovacuum may write some meanwhile, so the lesser of two loads
    counts; a load that went through the WAL would write at least the table's size."""
    rng = np.random.default_rng(3)
    n = 500_000
    frame = gpd.GeoDataFrame(
        {"id": np.arange(n), "label": [f"melding {i}" for i in range(n)]},
        geometry=shapely.points(rng.uniform(110_000, 135_000, n), rng.uniform(476_000, 494_000, n)),
        crs="EPSG:28992",
    )
    measured = []
    for _ in range(2):
        before = al.read_sql("SELECT pg_current_wal_lsn()::text AS lsn")["lsn"][0]
        al.load(frame, "meldingen", schema=schema, if_exists="replace")
        sizes = al.read_sql(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:before AS pg_lsn)) AS wal,"
            " pg_total_relation_size(CAST(:table AS regclass)) AS table_size",
            {"before": before, "table": f'"{schema}".meldingen'},
        )
        measured.append((int(sizes["wal"][0]), int(sizes["table_size"][0])))
    wal, table_size = min(measured)
    assert table_size > 50_000_000
    assert wal < table_size / 4, f"{wal:,} bytes of WAL for a table of {table_size:,} bytes (runs: {measured})"


def test_load_without_index_leaves_no_index(schema):
    al.load(buurten(), "buurten", schema=schema, spatial_index=False)
    assert al.read_sql("SELECT count(*) AS n FROM pg_indexes WHERE schemaname = :s", {"s": schema})["n"][0] == 0


def test_mixed_polygons_and_multipolygons_are_promoted(schema):
    frame = buurten(2)
    frame.loc[1, "geometry"] = shapely.MultiPolygon([shapely.box(121000, 487000, 121001, 487001), shapely.box(121002, 487002, 121003, 487003)])
    al.load(frame, "gemengd", schema=schema)
    assert column_types(schema, "gemengd")["geometry"] == "geometry(MultiPolygon,28992)"
    back = al.read(f"{schema}.gemengd")
    assert back.geometry.iloc[0].equals(shapely.MultiPolygon([frame.geometry.iloc[0]]))


def test_3d_points_keep_z_or_drop_it_on_request(schema):
    frame = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[shapely.Point(121001, 487002, 3), shapely.Point(121004, 487005, 6)], crs=28992)
    al.load(frame, "met_z", schema=schema)
    al.load(frame, "zonder_z", schema=schema, z="drop")
    assert column_types(schema, "met_z")["geometry"] == "geometry(PointZ,28992)"
    assert column_types(schema, "zonder_z")["geometry"] == "geometry(Point,28992)"
    assert al.read(f"{schema}.met_z").geometry.iloc[1].z == 6


def test_invalid_geometries_are_repaired_on_request(schema):
    bowtie = shapely.Polygon([(121000, 487000), (121010, 487010), (121010, 487000), (121000, 487010), (121000, 487000)])
    frame = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[shapely.box(121000, 487000, 121001, 487001), bowtie], crs=28992)
    report = al.load(frame, "hersteld", schema=schema, make_valid=True)
    assert report.repaired == 1
    assert column_types(schema, "hersteld")["geometry"] == "geometry(MultiPolygon,28992)"
    back = al.read(f"{schema}.hersteld")
    assert back.is_valid.all()
    assert back.geometry.iloc[1].area == pytest.approx(50)


def test_sentinels_become_null(schema):
    frame = pd.DataFrame({"code": ["A", "B"], "inwoners": [1200, -99999999], "dichtheid": [3.5, -99999999.0]})
    al.load(frame, "kerncijfers", schema=schema, null_values=[-99999999])
    back = al.read(f"{schema}.kerncijfers")
    assert back["inwoners"].isna().tolist() == [False, True]
    assert back["dichtheid"].isna().tolist() == [False, True]


def test_replace_swaps_in_the_new_table_and_append_adds(schema):
    al.load(buurten(3), "buurten", schema=schema)
    al.load(buurten(2, offset=10), "buurten", schema=schema, if_exists="replace")
    assert al.read(f"{schema}.buurten")["buurt_code"].tolist() == ["AF0010", "AF0011"]
    al.load(buurten(1, offset=20), "buurten", schema=schema, if_exists="append")
    assert al.read(f"SELECT buurt_code FROM {schema}.buurten ORDER BY 1")["buurt_code"].tolist() == [
        "AF0010", "AF0011", "AF0020"
    ]
    leftovers = al.read_sql("SELECT tablename FROM pg_tables WHERE tablename LIKE '\\_load\\_%'")
    assert leftovers.empty


def test_a_bad_value_in_a_late_chunk_leaves_the_old_table(schema, monkeypatch):
    from analysis_lib.sources import frame as frames

    monkeypatch.setattr(frames, "FRAME_CHUNK_ROWS", 100)
    al.load(buurten(3), "buurten", schema=schema)
    before = snapshot(schema)
    frame = buurten(1000)
    frame["Inwoners"] = frame["Inwoners"].astype(object)
    frame.loc[950, "Inwoners"] = "veel"  # chunk 10 of 10 cannot become an integer
    # the input's own message, not the driver's account of a broken stream
    with pytest.raises(al.LoadError, match=r"^cannot convert the data: row 951, column Inwoners: .*'veel'"):
        al.load(frame, "buurten", schema=schema, if_exists="replace")
    assert snapshot(schema) == before


def test_concurrent_replaces_are_serialised_into_one_complete_result(schema):
    loads = {"a": buurten(20_000), "b": buurten(30_000, offset=50_000)}
    errors = []

    def run(frame):
        try:
            al.load(frame, "buurten", schema=schema, if_exists="replace", primary_key="Buurt Code")
        except Exception as error:  # noqa: BLE001 - any error fails the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(frame,)) for frame in loads.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = al.read(f"SELECT buurt_code FROM {schema}.buurten ORDER BY 1")["buurt_code"].tolist()
    assert result in [sorted(frame["Buurt Code"]) for frame in loads.values()]


def test_two_loads_of_one_new_table_one_makes_it_and_the_other_finds_it_made(schema):
    """The advisory lock: without it both would find no table, and the second rename would fail with the
    server's own message instead of this one."""
    frames = [buurten(40_000), buurten(40_000, offset=50_000)]
    outcomes = [None, None]
    start = threading.Barrier(2)

    def run(number: int) -> None:
        start.wait()
        try:
            al.load(frames[number], "buurten", schema=schema, if_exists="fail")
            outcomes[number] = "loaded"
        except al.LoadError as error:
            outcomes[number] = str(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(outcomes, key=lambda o: o != "loaded") == [
        "loaded", f"table {schema}.buurten already exists; pass if_exists='replace' or 'append'"
    ]
    winner = frames[outcomes.index("loaded")]
    stored = al.read(f"SELECT buurt_code FROM {schema}.buurten ORDER BY 1")["buurt_code"].tolist()
    assert stored == sorted(winner["Buurt Code"])


@pytest.mark.parametrize("if_exists", ["replace", "append"])
def test_a_load_waits_at_most_lock_timeout_and_names_the_session_that_holds_the_table(schema, if_exists):
    al.load(buurten(3), "buurten", schema=schema)
    before = snapshot(schema)
    holder = psycopg.connect(os.environ.get("DATABASE_URL", ""), application_name="an open notebook")  # or libpq's PG*
    try:
        # an open transaction after a read blocks a replace; an append only a stronger lock
        holder.execute(f"SELECT count(*) FROM {schema}.buurten").fetchall()
        if if_exists == "append":
            holder.execute(f"LOCK TABLE {schema}.buurten IN SHARE MODE")
        holder_pid = holder.info.backend_pid
        time.sleep(1.1)
        started = time.monotonic()
        with pytest.raises(al.LoadError) as refused:
            al.load(buurten(5, offset=100), "buurten", schema=schema, if_exists=if_exists, lock_timeout=1.5)
        waited = time.monotonic() - started
    finally:
        holder.close()
    message = str(refused.value)
    assert f"loading {schema}.buurten waited 1.5 s for a lock and gave up, nothing was changed: held by session {holder_pid}" in message
    assert "application 'an open notebook', idle in transaction for " in message
    assert "last query: " in message and f"{schema}.buurten" in message.split("last query: ")[1]
    assert 1.4 < waited < 10
    assert snapshot(schema) == before


@pytest.mark.parametrize("seconds", [0, -1, float("inf"), float("nan")])
def test_lock_timeout_must_be_a_positive_number_of_seconds(schema, seconds):
    with pytest.raises(al.LoadError, match=r"lock_timeout=.*: give the seconds to wait for the table, more than 0"):
        al.load(buurten(3), "buurten", schema=schema, lock_timeout=seconds)
    assert snapshot(schema) == {}


LOADER = """
import sys, time
import geopandas as gpd, numpy as np, shapely
import analysis_lib as al
n = 1_500_000
frame = gpd.GeoDataFrame({"id": np.arange(n)}, geometry=shapely.points(110_000 + np.arange(n) % 25_000, 476_000 + np.arange(n) // 25_000), crs=28992)
print("loading", flush=True)
al.load(frame, "punten", schema=sys.argv[1], if_exists="replace")
"""


def wait_for_copy(schema: str, timeout: float = 60) -> int:
    """The pid of the backend copying into a staging table of ``schema``, once it is busy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = al.read_sql(
            "SELECT pid FROM pg_stat_activity WHERE query ILIKE 'COPY%' AND query LIKE :s AND pid <> pg_backend_pid()",
            {"s": f"%{schema}%"},
        )
        if not busy.empty:
            return int(busy["pid"][0])
        time.sleep(0.05)
    raise AssertionError("the load never started copying")


def test_a_killed_loader_leaves_the_table_as_it_was(schema):
    al.load(buurten(3).rename(columns={"Buurt Code": "id"})[["id", "geometry"]], "punten", schema=schema)
    before = snapshot(schema)
    loader = subprocess.Popen([sys.executable, "-c", LOADER, schema], env=os.environ)
    try:
        wait_for_copy(schema)
        os.kill(loader.pid, signal.SIGKILL)
    finally:
        loader.wait(timeout=30)
    assert loader.returncode == -signal.SIGKILL
    time.sleep(0.5)  # the server notices the closed socket and rolls back
    assert snapshot(schema) == before


def test_a_lost_connection_leaves_the_table_as_it_was(schema):
    al.load(buurten(3).rename(columns={"Buurt Code": "id"})[["id", "geometry"]], "punten", schema=schema)
    before = snapshot(schema)
    loader = subprocess.Popen([sys.executable, "-c", LOADER, schema], env=os.environ, stderr=subprocess.PIPE, text=True)
    pid = wait_for_copy(schema)
    al.read_sql("SELECT pg_terminate_backend(:pid) AS done", {"pid": pid})
    _, stderr = loader.communicate(timeout=60)
    assert loader.returncode != 0
    assert "LoadError" in stderr or "loading" in stderr
    assert snapshot(schema) == before


# Points NSGI publishes in both ETRS89 and RD New (RDNAPTRANS2018's self-validation file, point
# 30010000; the example of EPSG's v12.054 RD definition; the RD origin at Amersfoort, to 6 decimals).
PUBLISHED_IN_BOTH = [(51.728601274, 4.712120126, 108360.8790, 415757.2745), (53.148288321, 7.180899528, 275000.000, 575000.000),
                     (52.155173, 5.387204, 155000.0, 463000.0)]
# Offline (no PROJ grids) pyproj takes EPSG's "Amersfoort to ETRS89 (8)", a 7-parameter Helmert
# transformation with a stated accuracy of 0.25 m; the points above land within 0.21 m.
OFFLINE_ACCURACY_M = 0.25


@pytest.mark.parametrize("crs", ["EPSG:4258", "EPSG:4326"])
def test_reprojection_to_rd_new_lands_within_the_offline_transformation_accuracy_of_published_points(schema, crs):
    frame = gpd.GeoDataFrame(
        {"n": range(len(PUBLISHED_IN_BOTH))},
        geometry=shapely.points([lon for _, lon, _, _ in PUBLISHED_IN_BOTH], [lat for lat, _, _, _ in PUBLISHED_IN_BOTH]), crs=crs,
    )
    al.load(frame, "punten", schema=schema, target_crs="EPSG:28992")
    stored = al.read(f"SELECT n, ST_X(geometry) AS x, ST_Y(geometry) AS y, ST_SRID(geometry) AS srid FROM {schema}.punten ORDER BY n")
    assert set(stored["srid"]) == {28992}
    for (_, _, x, y), got_x, got_y in zip(PUBLISHED_IN_BOTH, stored["x"], stored["y"], strict=True):
        assert np.hypot(got_x - x, got_y - y) < OFFLINE_ACCURACY_M
