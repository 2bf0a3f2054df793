"""ADBC connections are reused between reads and loads of one process, and nothing of one call reaches
the next: no open transaction, no lock, no dead or aborted session, no session shared with a fork."""

import multiprocessing
import time

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

import analysis_lib as al


def backend_pid() -> int:
    return int(al.read("SELECT pg_backend_pid() AS pid")["pid"].iloc[0])


def session_state(pid: int) -> str | None:
    with al.engine().connect() as conn:
        return conn.execute(sa.text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar()


def test_reads_and_loads_share_one_session_that_idles_outside_a_transaction(scratch_table):
    first = backend_pid()
    frame = gpd.GeoDataFrame({"n": [1, 2]}, geometry=shapely.points([121000, 121001], [487000, 487001]), crs="EPSG:28992")
    al.load(frame, scratch_table)
    assert len(al.read(scratch_table)) == 2
    assert backend_pid() == first
    assert session_state(first) == "idle"


def test_a_changed_libpq_environment_gets_a_session_of_its_own(monkeypatch):
    """libpq completes a connection from PG* variables (here PGOPTIONS), so a session opened before
    they changed is not the one asked for."""
    first = backend_pid()
    with monkeypatch.context() as changed:
        changed.setenv("PGOPTIONS", "-c application_name=workbench_test_pgoptions")
        assert al.read("SELECT current_setting('application_name') AS name")["name"].iloc[0] == "workbench_test_pgoptions"
        assert backend_pid() != first
    assert backend_pid() == first


def test_a_table_read_holds_no_lock_once_read_returns(scratch_table):
    with al.engine().begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{scratch_table}" AS SELECT 1 AS n'))
    al.read(scratch_table)
    with al.engine().begin() as conn:
        conn.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
        conn.execute(sa.text(f'DROP TABLE "{scratch_table}"'))  # waits for, then fails on, a lock still held


def test_a_session_that_died_is_replaced_by_a_new_one():
    dead = backend_pid()
    with al.engine().connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}).scalar()
    for _ in range(50):
        if session_state(dead) is None:
            break
        time.sleep(0.1)
    replacement = backend_pid()
    assert replacement != dead


def test_a_failed_query_leaves_no_aborted_session_behind():
    before = backend_pid()
    with pytest.raises(al.QueryError, match="division by zero"):
        al.read("SELECT 1 / 0 AS n")
    assert session_state(before) in (None, "idle")
    assert al.read("SELECT 2 AS n")["n"].iloc[0] == 2


def _load_in_child(queue, table):
    frame = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.box(121000, 487000, 121001, 487001)], crs="EPSG:28992")
    al.load(frame, table, if_exists="replace")
    queue.put(backend_pid())


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_loads_over_a_session_of_its_own_and_leaves_the_parents_alone(scratch_table):
    frame = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[shapely.box(121000, 487000, 121001, 487001)] * 2, crs="EPSG:28992")
    al.load(frame, scratch_table)  # the parent has used every part of a load before it forks
    parent = backend_pid()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_load_in_child, args=(queue, scratch_table), daemon=True)
    child.start()
    try:
        child_pid = queue.get(timeout=60)
        child.join(30)
    finally:
        child.kill()  # a child stuck on something it inherited must not outlive the test
    assert child.exitcode == 0
    assert child_pid != parent
    assert backend_pid() == parent
    assert al.read(scratch_table)["n"].tolist() == [1]


def test_the_read_only_connection_a_notebook_keeps_holds_no_transaction_after_a_read(scratch_table):
    al.load(gpd.GeoDataFrame({"n": [1]}, geometry=shapely.points([121000], [487000]), crs="EPSG:28992"), scratch_table)
    kept = al.read_only_engine().connect()  # as %sql keeps it
    try:
        assert kept.execute(sa.text(f'SELECT count(*) FROM "{scratch_table}"')).scalar() == 1
        pid = kept.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        assert session_state(pid) == "idle"
        al.load(gpd.GeoDataFrame({"n": [2]}, geometry=shapely.points([121000], [487000]), crs="EPSG:28992"), scratch_table,
                if_exists="replace", lock_timeout=3)  # nothing held
    finally:
        kept.close()


def test_a_transaction_begun_on_the_engine_is_still_one(scratch_table):
    with al.engine().begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{scratch_table}" (n int)'))
    with pytest.raises(ZeroDivisionError), al.engine().begin() as conn:
        conn.execute(sa.text(f'INSERT INTO "{scratch_table}" VALUES (1)'))
        1 / 0
    assert al.read(f'SELECT count(*) AS n FROM "{scratch_table}"')["n"].iloc[0] == 0


@pytest.mark.parametrize("opened_by", ["al.connect()", "al.engine().connect()"])
def test_a_connection_a_notebook_keeps_after_a_read_holds_no_transaction(scratch_table, opened_by):
    al.load(gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=shapely.points([121000] * 3, [487000] * 3), crs="EPSG:28992"), scratch_table)
    kept = al.connect() if opened_by == "al.connect()" else al.engine().connect()
    try:
        rows = kept.execute(sa.text(f'SELECT n FROM "{scratch_table}" ORDER BY n'))
        pid = kept.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        assert session_state(pid) == "idle"
        assert rows.scalars().all() == [1, 2, 3]  # fetched after the read's transaction ended
        assert pd.read_sql(f'SELECT count(*) AS n FROM "{scratch_table}"', kept)["n"].iloc[0] == 3
        assert session_state(pid) == "idle"
        al.load(gpd.GeoDataFrame({"n": [4]}, geometry=shapely.points([121000], [487000]), crs="EPSG:28992"), scratch_table,
                if_exists="replace", lock_timeout=3)
        with kept.begin():  # a read before does not leave "a transaction is already begun"
            assert kept.execute(sa.text(f'SELECT n FROM "{scratch_table}"')).scalar() == 4
    finally:
        kept.close()


def test_writes_on_a_kept_connection_still_wait_for_commit_or_rollback(scratch_table):
    with al.engine().begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{scratch_table}" (n int)'))
    with al.connect() as conn:
        conn.execute(sa.text(f'INSERT INTO "{scratch_table}" VALUES (1)'))
        assert conn.execute(sa.text(f'SELECT count(*) FROM "{scratch_table}"')).scalar() == 1  # a read after a write
        assert session_state(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()) == "idle in transaction"
        conn.rollback()
        assert conn.execute(sa.text(f'SELECT count(*) FROM "{scratch_table}"')).scalar() == 0
        conn.execute(sa.text(f"INSERT INTO \"{scratch_table}\" SELECT n FROM generate_series(1, 2) n RETURNING n"))
        conn.rollback()  # a write that returns rows is still a write
        assert conn.execute(sa.text(f'SELECT count(*) FROM "{scratch_table}"')).scalar() == 0
    with pytest.raises(ZeroDivisionError), al.connect() as conn, conn.begin():
        assert conn.execute(sa.text(f'SELECT count(*) FROM "{scratch_table}"')).scalar() == 0
        conn.execute(sa.text(f'INSERT INTO "{scratch_table}" VALUES (2)'))
        1 / 0
    assert al.read(f'SELECT count(*) AS n FROM "{scratch_table}"')["n"].iloc[0] == 0


def test_streamed_and_repeatable_read_results_keep_their_transaction(scratch_table):
    with al.engine().begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{scratch_table}" AS SELECT n FROM generate_series(1, 5000) n'))
    with al.connect() as conn:
        streamed = conn.execution_options(stream_results=True).execute(sa.text(f'SELECT n FROM "{scratch_table}" ORDER BY n'))
        assert conn.in_transaction()
        assert sum(1 for _ in streamed) == 5000
        conn.rollback()
        snapshot = conn.execution_options(isolation_level="REPEATABLE READ")
        assert snapshot.execute(sa.text(f'SELECT count(*) FROM "{scratch_table}"')).scalar() == 5000
        assert snapshot.in_transaction()


def test_a_read_that_takes_a_transaction_lock_keeps_its_transaction():
    with al.connect() as kept, al.connect() as other:
        kept.execute(sa.text("SELECT pg_advisory_xact_lock(424242)")).all()
        assert kept.in_transaction()
        assert other.execute(sa.text("SELECT pg_try_advisory_xact_lock(424242)")).scalar() is False
        kept.rollback()
        assert other.execute(sa.text("SELECT pg_try_advisory_xact_lock(424242)")).scalar() is True
