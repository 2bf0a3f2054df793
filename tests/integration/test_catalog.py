"""The dataset catalog against the real database: builds in order, provenance and comments, what is
stale and why, checks that keep the old table, views that survive a rebuild, one build at a time,
and a killed build that leaves everything as before."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest
import sqlalchemy as sa
import yaml

import analysis_lib as al
from catalog_project import Project

BUURTEN = "code;naam;inwoners\n0363;Centrum;100\n0364;Noord;200\n0365;West;300\n"
MELDINGEN = "id;buurt;categorie;x;y\n1;0363;afval;121000;487000\n2;0363;groen;121010;487010\n3;0364;afval;122000;489000\n"
POINTS_GEOJSON = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"id": 1, "buurt": "0365"}, "geometry": {"type": "Point", "coordinates": [4.89, 52.37]}},
    {"type": "Feature", "properties": {"id": 2, "buurt": "0363"}, "geometry": {"type": "Point", "coordinates": [4.90, 52.38]}}]})


@pytest.fixture
def project(tmp_path, schema):
    return Project(tmp_path, schema)


def states(project: Project, **options) -> dict[str, dict]:
    """al.catalog.status() of the project's own entries (the database may hold other projects' orphans)."""
    frame = al.catalog.status(project.root, **options)
    return {row["entry"]: row for row in frame.to_dict("records") if row["table"].startswith(f"{project.schema}.")}


def small_catalog(project: Project) -> None:
    project.raw("buurten.csv", BUURTEN)
    project.raw("meldingen.csv", MELDINGEN)
    project.raw("containers.geojson", POINTS_GEOJSON)
    s = project.schema
    per_buurt = project.sql("per_buurt.sql", f"""
        -- meldingen per buurt, with the buurt's name
        SELECT b.code, b.naam, count(m.id) AS meldingen, ST_Buffer(ST_Collect(m.geom), 10) AS geom
        FROM {s}.buurten b LEFT JOIN {s}.meldingen m ON m.buurt = b.code GROUP BY b.code, b.naam""")
    overview = project.sql("overview.sql", f"SELECT p.code, p.meldingen, (SELECT count(*) FROM {s}.containers c WHERE c.buurt = p.code)"
                                           f" AS containers FROM {s}.per_buurt p")
    project.catalog({
        "buurten": {"path": "buurten.csv", "checks": [{"unique": ["code"]}, {"rows": {"min": 1}}]},
        "meldingen": {"path": "meldingen.csv", "crs": "EPSG:28992", "x": "x", "y": "y", "column_types": {"buurt": "text"},
                      "checks": [{"not_null": ["buurt"]}, {"geometry": {"type": "Point", "srid": 28992}}]},
        "containers": {"path": "containers.geojson"},
        "per_buurt": {"sql": per_buurt, "checks": [{"sql": "SELECT * FROM {this} WHERE meldingen < 0"}]},
        "overview": {"sql": overview, "materialized": "view"},
    })


def test_a_catalog_builds_in_order_and_records_where_every_table_came_from(project):
    small_catalog(project)
    result = project.build()
    assert result.ok, result.outcomes
    assert result.built == ["buurten", "meldingen", "containers", "per_buurt", "overview"]
    s = project.schema
    assert project.query(f"SELECT code, naam, inwoners FROM {s}.buurten ORDER BY code") == [
        ("0363", "Centrum", 100), ("0364", "Noord", 200), ("0365", "West", 300)]  # leading zeros kept
    assert project.query(f"SELECT code, meldingen FROM {s}.per_buurt ORDER BY code") == [("0363", 2), ("0364", 1), ("0365", 0)]
    assert project.query(f"SELECT code, meldingen, containers FROM {s}.overview ORDER BY code") == [
        ("0363", 2, 1), ("0364", 1, 0), ("0365", 0, 1)]

    meldingen = project.current("meldingen")
    raw = (project.root / "data/raw/meldingen.csv").read_bytes()
    assert meldingen["sha256"] == hashlib.sha256(raw).hexdigest() and meldingen["size"] == len(raw)
    assert meldingen["source_path"] == "data/raw/meldingen.csv" and meldingen["rows"] == 3
    assert meldingen["srid"] == 28992 and meldingen["geometry_type"] == "Point"
    assert meldingen["extent"] == [121000.0, 487000.0, 122000.0, 489000.0]
    assert meldingen["columns"]["buurt"] == "text" and meldingen["options"]["x"] == "x"
    containers = project.current("containers")
    assert containers["srid"] == 28992  # WGS 84 reprojected; the extent is in Amsterdam's RD New range
    assert 110_000 < containers["extent"][0] < 135_000 and 476_000 < containers["extent"][1] < 494_000
    per_buurt = project.current("per_buurt")
    assert per_buurt["inputs"] == ["buurten", "meldingen"] and "FROM" in per_buurt["sql"] and per_buurt["sha256"] is None
    assert project.current("overview")["kind"] == "view"
    build = project.query("SELECT result, os_user, workbench_version, selection, finished >= started FROM catalog.builds WHERE id = :id",
                          {"id": result.build_id})[0]
    assert build == ("succeeded", getpass.getuser(), al.__version__, "all", True)

    comment = project.query(f"SELECT obj_description('{s}.meldingen'::regclass)")[0][0]
    assert comment.startswith("datasets.yml entry meldingen: from data/raw/meldingen.csv sha256 " + meldingen["sha256"][:12])
    assert f"build {result.build_id}" in comment
    assert project.query(f"SELECT indexdef FROM pg_indexes WHERE schemaname = '{s}' AND tablename = 'per_buurt'")[0][0].endswith(
        "USING gist (geom)")
    assert project.query("SELECT count(*) FROM pg_class WHERE relnamespace = 'catalog_staging'::regnamespace")[0][0] == 0

    status = project.command("status", "--json")
    rows = json.loads(status.stdout)
    assert {row["entry"]: row["state"] for row in rows if row["table"].startswith(f"{s}.")} == dict.fromkeys(
        ["buurten", "meldingen", "containers", "per_buurt", "overview"], "up to date")
    assert status.returncode == (1 if any(row["state"] != "up to date" for row in rows) else 0)  # others' orphans count
    again = project.build()
    assert again.ok and again.built == []


def test_the_read_only_role_reads_the_provenance(project):
    small_catalog(project)
    assert project.build().ok
    with al.read_only_engine().connect() as conn:  # the role reports run as
        assert conn.execute(sa.text("SELECT current_user")).scalar() == "analyst"
        rows = conn.execute(sa.text("SELECT entry FROM catalog.current WHERE schema_name = :s ORDER BY entry"), {"s": project.schema})
        assert [r[0] for r in rows] == ["buurten", "containers", "meldingen", "overview", "per_buurt"]
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("DELETE FROM catalog.builds"))


def test_after_one_file_changes_only_it_and_what_depends_on_it_are_rebuilt(project):
    small_catalog(project)
    assert project.build().ok
    containers_before = project.current("containers")["id"]
    project.raw("meldingen.csv", MELDINGEN + "4;0365;afval;123000;488000\n")
    status = {name: (row["state"], row["why"]) for name, row in states(project).items()}
    assert status["meldingen"] == ("stale", "file changed")
    assert status["per_buurt"] == ("stale", "input meldingen changed")
    assert status["overview"] == ("stale", "input per_buurt changed")
    assert status["buurten"][0] == status["containers"][0] == "up to date"
    dry = project.command("build", "--dry-run")
    assert dry.returncode == 0 and "would build   meldingen" in dry.stdout and "3 to build" in dry.stdout
    result = project.build()
    assert result.built == ["meldingen", "per_buurt", "overview"]
    assert project.current("containers")["id"] == containers_before
    assert project.query(f"SELECT meldingen FROM {project.schema}.overview WHERE code = '0365'") == [(1,)]


def test_a_file_entry_is_checked_again_when_a_table_its_checks_read_changes(project):
    """depends_on of a file entry: the tables its sql checks read are its inputs, and their changes count."""
    s = project.schema
    project.raw("buurten.csv", BUURTEN)
    project.raw("codes.csv", "code;label\n0363;a\n0365;b\n")
    project.catalog({
        "buurten": {"path": "buurten.csv"},
        "codes": {"path": "codes.csv", "depends_on": ["buurten"], "checks": [
            {"sql": f"SELECT c.* FROM {{this}} c WHERE NOT EXISTS (SELECT 1 FROM {s}.buurten b WHERE b.code = c.code)"}]},
    })
    assert project.build().ok
    project.raw("buurten.csv", BUURTEN.replace("0365;West;300\n", ""))
    states = {row["entry"]: (row["state"], row["why"]) for row in al.catalog.status(project.root).to_dict("records")}
    assert states["codes"] == ("stale", "input buurten changed")
    result = project.build()
    assert {o.name: o.result for o in result.outcomes} == {"buurten": "built", "codes": "failed"}
    assert "returned failing rows: code='0365'" in next(o.message for o in result.outcomes if o.name == "codes")
    assert project.query(f"SELECT code FROM {s}.codes ORDER BY code") == [("0363",), ("0365",)]  # the old table stays


def test_layout_and_comments_in_sql_change_nothing_but_its_meaning_and_the_options_do(project):
    small_catalog(project)
    assert project.build().ok
    path = project.root / "sql/overview.sql"
    path.write_text("-- reformatted\n" + path.read_text().replace(" ", "\n  ") + "\n;")
    assert project.build().built == []
    path.write_text(path.read_text().replace("p.meldingen", "p.meldingen + 0 AS meldingen", 1))
    assert project.build(dry_run=True).outcomes[-1].message == "SQL changed"
    entries = yaml.safe_load((project.root / "datasets.yml").read_text())["datasets"]
    entries["containers"]["make_valid"] = True
    entries["buurten"]["lock_timeout"] = 5  # how long to wait changes nothing stored
    (project.root / "datasets.yml").write_text(yaml.safe_dump({"datasets": entries}))
    plan = {o.name: o.message for o in project.build(dry_run=True).outcomes}
    assert plan["containers"] == "options changed (make_valid)" and "buurten" not in [n for n, m in plan.items() if m]
    assert project.build().built == ["containers", "overview"]


def test_a_failing_check_keeps_the_old_table_its_views_and_its_provenance(project):
    small_catalog(project)
    assert project.build().ok
    before = project.current("buurten")
    project.raw("buurten.csv", BUURTEN + "0363;Dubbel;-5\n")
    result = project.build()
    assert not result.ok
    failed = next(o for o in result.outcomes if o.name == "buurten")
    assert failed.result == "failed"
    assert "unique code: 1 values occur more than once, e.g. ('0363') ×2" in failed.message
    assert f"{project.schema}.buurten was left as it was" in failed.message
    assert {o.name: o.result for o in result.outcomes}["per_buurt"] == "skipped"
    assert project.query(f"SELECT count(*) FROM {project.schema}.buurten")[0][0] == 3
    assert project.current("buurten")["id"] == before["id"]
    assert project.query(f"SELECT count(*) FROM {project.schema}.overview")[0][0] == 3
    assert project.query("SELECT count(*) FROM pg_class WHERE relnamespace = 'catalog_staging'::regnamespace")[0][0] == 0
    assert project.query("SELECT result FROM catalog.builds WHERE id = :id", {"id": result.build_id})[0][0] == "failed"
    cli = project.command("build")
    assert cli.returncode == 1 and "failed" in cli.stdout and "unique code" in cli.stdout


def test_a_load_that_fails_names_the_entrys_table_not_its_staging_one(project):
    project.raw("buurten.csv", BUURTEN + "0363;Dubbel;-5\n")
    project.catalog({"buurten": {"path": "buurten.csv", "primary_key": "code"}})
    message = project.build().outcomes[0].message
    assert f"loading {project.schema}.buurten failed" in message and "Key (code)=(0363) is duplicated" in message
    assert "catalog_staging" not in message and message.endswith(f"{project.schema}.buurten was not made")


def test_sql_checks_show_the_failing_rows(project):
    project.raw("buurten.csv", BUURTEN)
    project.catalog({"buurten": {"path": "buurten.csv", "checks": [
        {"sql": "SELECT code, inwoners FROM {this} WHERE inwoners > 150"}, {"not_null": ["naam"]}, {"rows": {"max": 2}}]}})
    outcome = project.build().outcomes[0]
    assert outcome.result == "failed"
    assert "returned failing rows: code='0364', inwoners=200; code='0365', inwoners=300" in outcome.message
    assert "rows: 3, more than the maximum 2" in outcome.message
    assert "not_null" not in outcome.message
    assert project.query(f"SELECT to_regclass('{project.schema}.buurten')")[0][0] is None


def test_views_made_by_hand_survive_a_rebuild_with_their_comments_and_grants(project):
    small_catalog(project)
    assert project.build().ok
    s = project.schema
    project.execute(
        f"CREATE VIEW {s}.mine AS SELECT code, naam FROM {s}.buurten WHERE inwoners > 150",
        f"CREATE VIEW {s}.mine_too AS SELECT count(*) AS n FROM {s}.mine",
        f"CREATE MATERIALIZED VIEW {s}.frozen AS SELECT code, inwoners FROM {s}.buurten",
        f"CREATE UNIQUE INDEX frozen_code ON {s}.frozen (code)",
        f"COMMENT ON VIEW {s}.mine IS 'the big ones'",
        f"COMMENT ON COLUMN {s}.mine.naam IS 'as the city spells it'",
        f"GRANT SELECT ON {s}.mine TO PUBLIC",
    )
    project.raw("buurten.csv", BUURTEN + "0366;Oost;400\n")
    result = project.build()
    assert result.ok and "buurten" in result.built
    assert project.query(f"SELECT code FROM {s}.mine ORDER BY code") == [("0364",), ("0365",), ("0366",)]
    assert project.query(f"SELECT n FROM {s}.mine_too") == [(3,)]
    assert project.query(f"SELECT count(*) FROM {s}.frozen") == [(4,)]  # made again over the new table
    assert project.query(f"SELECT indexname FROM pg_indexes WHERE schemaname = '{s}' AND tablename = 'frozen'") == [("frozen_code",)]
    assert project.query(f"SELECT obj_description('{s}.mine'::regclass), col_description('{s}.mine'::regclass, 2),"
                         f" has_table_privilege('public', '{s}.mine', 'SELECT')") == [("the big ones", "as the city spells it", True)]
    # a new file without a column the hand-made view reads: the swap stops and nothing changes
    project.raw("buurten.csv", "code;inwoners\n0363;1\n")
    failed = project.build()
    message = next(o.message for o in failed.outcomes if o.name == "buurten")
    assert f"{s}.mine depends on it and cannot be made over the new table" in message and "naam" in message
    assert project.query(f"SELECT count(*) FROM {s}.buurten") == [(4,)]
    assert project.query(f"SELECT count(*) FROM {s}.mine") == [(3,)]


def test_a_dry_run_touches_nothing(project):
    small_catalog(project)
    def builds() -> int | None:
        return project.query("SELECT count(*) FROM catalog.builds")[0][0] if project.query(
            "SELECT to_regclass('catalog.builds')")[0][0] else None

    before = builds()
    result = project.command("build", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would build   buurten" in result.stdout and "never built" in result.stdout and "nothing was changed" in result.stdout
    assert project.query(f"SELECT count(*) FROM pg_class WHERE relnamespace = '{project.schema}'::regnamespace") == [(0,)]
    assert builds() == before


def test_a_table_the_catalog_did_not_make_is_replaced_only_with_force(project):
    project.raw("buurten.csv", BUURTEN)
    project.catalog({"buurten": {"path": "buurten.csv"}})
    with al.engine().begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {project.schema}.buurten AS SELECT 'by hand' AS note")
    assert states(project)["buurten"]["state"] == "not the catalog's"
    refused = project.build()
    assert not refused.ok and "exists that the catalog did not make" in refused.outcomes[0].message
    assert project.query(f"SELECT note FROM {project.schema}.buurten") == [("by hand",)]
    assert project.build(force=True).built == ["buurten"]
    assert project.query(f"SELECT count(*) FROM {project.schema}.buurten") == [(3,)]


def test_a_failure_stops_the_build_unless_keep_going_and_always_skips_its_dependents(project):
    small_catalog(project)
    project.raw("meldingen.csv", "id;buurt;categorie;x;y\n1;;afval;121000;487000\n")  # breaks its not_null check
    stopped = project.build()
    results = {o.name: o.result for o in stopped.outcomes}
    assert results["buurten"] == "built" and results["meldingen"] == "failed"
    assert results["per_buurt"] == results["overview"] == "skipped"
    assert results["containers"] == "skipped"  # not started after the failure
    kept_going = project.build(keep_going=True)
    results = {o.name: o.result for o in kept_going.outcomes}
    assert results == {"buurten": "up to date", "meldingen": "failed", "containers": "built", "per_buurt": "skipped", "overview": "skipped"}
    assert "input meldingen failed" in next(o.message for o in kept_going.outcomes if o.name == "per_buurt")
    cli = project.command("build", "--keep-going")
    assert cli.returncode == 1


def test_select_with_a_plus_builds_everything_downstream_and_names_build_only_them(project):
    small_catalog(project)
    assert project.build("buurten", "containers").built == ["buurten", "containers"]
    missing_input = project.build("per_buurt")
    assert "input meldingen is missing" in missing_input.outcomes[0].message
    assert project.build(downstream_of=["meldingen"]).built == ["meldingen", "per_buurt", "overview"]
    assert project.build(force=True, downstream_of=["per_buurt"]).built == ["per_buurt", "overview"]


def test_a_table_no_longer_declared_is_orphaned(project):
    small_catalog(project)
    assert project.build().ok
    entries = yaml.safe_load((project.root / "datasets.yml").read_text())["datasets"]
    del entries["overview"]
    (project.root / "datasets.yml").write_text(yaml.safe_dump({"datasets": entries}))
    status = project.command("status")
    assert status.returncode == 1
    line = next(line for line in status.stdout.splitlines() if line.startswith("overview"))
    assert "orphaned" in line and "no longer in datasets.yml" in line


def test_lineage_lists_what_a_table_is_made_from(project):
    small_catalog(project)
    assert project.build().ok
    lineage = al.catalog.lineage("overview", project.root)
    assert list(lineage["entry"]) == ["buurten", "meldingen", "containers", "per_buurt", "overview"]
    rows = lineage.set_index("entry")
    assert rows.loc["overview", "inputs"] == ["containers", "per_buurt"]
    assert rows.loc["meldingen", "source"] == "data/raw/meldingen.csv" and rows.loc["meldingen", "rows"] == 3
    assert rows.loc["buurten", "sha256"] == hashlib.sha256(BUURTEN.encode()).hexdigest()
    assert list(al.catalog.lineage("buurten", project.root)["entry"]) == ["buurten"]


def test_a_zip_member_and_a_geopackage_layer_are_sources(project, tmp_path):
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=shapely.points([121000, 122000], [487000, 488000]), crs="EPSG:28992")
    gpkg = tmp_path / "gebieden.gpkg"
    frame.to_file(gpkg, layer="punten")
    frame.iloc[:1].to_file(gpkg, layer="een")
    (project.root / "data/raw").mkdir(parents=True)
    with zipfile.ZipFile(project.root / "data/raw/gebieden.gpkg.zip", "w") as archive:
        archive.write(gpkg, "export/gebieden.gpkg")
    project.catalog({"punten": {"path": "gebieden.gpkg.zip", "member": "export/gebieden.gpkg", "layer": "punten"},
                     "een": {"path": "gebieden.gpkg.zip", "member": "export/gebieden.gpkg", "layer": "een"}})
    assert project.build().built == ["punten", "een"]
    assert project.query(f"SELECT code FROM {project.schema}.punten ORDER BY code") == [("A",), ("B",)]
    assert project.query(f"SELECT count(*) FROM {project.schema}.een") == [(1,)]
    assert project.current("punten")["sha256"] == hashlib.sha256((project.root / "data/raw/gebieden.gpkg.zip").read_bytes()).hexdigest()
    project.catalog({"punten": {"path": "gebieden.gpkg.zip", "member": "gebieden.gpkg"}})
    assert "no member 'gebieden.gpkg' (members: export/gebieden.gpkg)" in project.build().outcomes[0].message


def big_csv(rows: int) -> str:
    return "id;code;x;y\n" + "".join(f"{i};{i % 1000:04d};{121000 + i % 5000};{487000 + i % 3000}\n" for i in range(rows))


def test_two_builds_at_once_run_one_after_the_other(project):
    project.raw("a.csv", BUURTEN)
    project.catalog({"a": {"path": "a.csv"}})
    assert project.build().ok
    build = [sys.executable, "-m", "analysis_lib", "build", "--force", "--project", str(project.root)]
    with al.engine().connect() as reader:  # a reader keeps the first build waiting in its swap
        reader.execute(sa.text(f"LOCK TABLE {project.schema}.a IN ACCESS SHARE MODE"))
        first = subprocess.Popen(build, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        second = None
        try:
            _wait_until(lambda: _sessions_waiting("relation") == 1, first)
            second = subprocess.Popen(build, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            _wait_until(lambda: _sessions_waiting("advisory") == 1, second)  # on the build lock the first holds
            reader.rollback()
            first_out, first_err = first.communicate(timeout=120)
            second_out, second_err = second.communicate(timeout=120)
        finally:
            for process in (first, second):
                if process is not None:
                    process.kill()  # never outlives the test (its schema is dropped next)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert "another build is running (pid" in second_out and "waiting for it to finish" in second_out
    (second_started, _), (_, first_finished) = project.query("SELECT started, finished FROM catalog.builds ORDER BY id DESC LIMIT 2")
    assert second_started >= first_finished


def _ctrl_c_as_in_a_terminal() -> None:
    """A run started in the background (CI's `cmd &`) ignores SIGINT, and so would the build it starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _lines_so_far(process: subprocess.Popen):
    """A function that returns what ``process`` wrote to its stdout so far, without waiting for more."""
    descriptor = process.stdout.fileno()
    seen = []

    def read() -> str:
        os.set_blocking(descriptor, False)
        try:
            seen.append(os.read(descriptor, 65536))
        except BlockingIOError:
            pass
        finally:
            os.set_blocking(descriptor, True)
        return b"".join(seen).decode()
    return read


def _sessions_waiting(locktype: str) -> int:
    with al.engine().connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = :t"), {"t": locktype}).scalar()


def _wait_until(condition, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.05)


def _wait_for_staging(process: subprocess.Popen, timeout: float = 120) -> None:
    """Until the build has a half-made table in catalog_staging (the loader is writing it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        with al.engine().connect() as conn:
            if conn.execute(sa.text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
                    " AND a.pid <> pg_backend_pid() AND a.query ILIKE 'COPY%catalog_staging%'")).scalar():
                return
        time.sleep(0.05)
    raise AssertionError("the build never started loading")


def test_a_killed_build_leaves_every_table_and_its_provenance_as_before(project):
    project.raw("big.csv", big_csv(1000))
    project.catalog({"big": {"path": "big.csv", "crs": "EPSG:28992", "x": "x", "y": "y", "column_types": {"code": "text"}}})
    assert project.build().ok
    before = project.current("big")
    project.raw("big.csv", big_csv(300_000))
    build = subprocess.Popen([sys.executable, "-m", "analysis_lib", "build", "--project", str(project.root)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_staging(build)
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=30)
    assert project.query(f"SELECT count(*) FROM {project.schema}.big") == [(1000,)]
    assert project.current("big")["id"] == before["id"]
    killed = project.query("SELECT id, result FROM catalog.builds ORDER BY id DESC LIMIT 1")[0]
    assert killed[1] == "running"  # until the next build finds its lock gone
    assert states(project)["big"]["why"] == "file changed"
    result = project.build()
    assert result.ok and result.built == ["big"]
    assert project.query("SELECT result FROM catalog.builds WHERE id = :id", {"id": killed[0]}) == [("killed",)]
    assert project.query("SELECT count(*) FROM pg_class WHERE relnamespace = 'catalog_staging'::regnamespace") == [(0,)]
    assert project.query(f"SELECT count(*), min(code) FROM {project.schema}.big") == [(300_000, "0000")]


def test_an_interrupted_build_lets_its_running_entry_finish_and_records_it(project):
    """Ctrl-C: nothing new is started, what runs is swapped in whole (or not), and the summary in
    catalog.builds says so, as catalog.tables does."""
    project.raw("a.csv", BUURTEN)
    project.raw("b.csv", BUURTEN)
    project.catalog({"a": {"path": "a.csv"}, "b": {"path": "b.csv", "depends_on": ["a"]}})
    assert project.build().ok
    project.raw("a.csv", BUURTEN.replace("Noord", "Oost"))
    with al.engine().connect() as reader:  # keeps the build waiting in a's swap
        reader.execute(sa.text(f"LOCK TABLE {project.schema}.a IN ACCESS SHARE MODE"))
        build = subprocess.Popen([sys.executable, "-m", "analysis_lib", "build", "--project", str(project.root)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                 preexec_fn=_ctrl_c_as_in_a_terminal)
        try:
            _wait_until(lambda: _sessions_waiting("relation") == 1, build)
            build.send_signal(signal.SIGINT)
            said = _lines_so_far(build)
            _wait_until(lambda: "interrupted: waiting for a to finish" in said(), build, timeout=30)
            reader.rollback()
            _, err = build.communicate(timeout=120)
        finally:
            build.kill()
    assert build.returncode == 128 + signal.SIGINT, err
    assert err.strip().splitlines()[-1] == "analysis-lib build: interrupted" and "Traceback" not in err
    build_id, result, summary = project.query("SELECT id, result, summary FROM catalog.builds ORDER BY id DESC LIMIT 1")[0]
    assert (result, summary) == ("failed", {"a": "built"})
    assert project.current("a")["build_id"] == build_id
    assert project.query(f"SELECT naam FROM {project.schema}.a WHERE code = '0364'") == [("Oost",)]
    assert states(project)["b"]["why"] == "input a changed"  # not started


def test_a_file_rewritten_with_the_same_size_and_time_is_hashed_again(project):
    small_catalog(project)
    assert project.build().ok
    path = project.root / "data/raw/buurten.csv"
    status = path.stat()
    path.write_text(BUURTEN.replace("Noord", "Zuid!"))  # same size
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))  # and the same time: its change time tells
    assert states(project)["buurten"]["why"] == "file changed"
    assert project.build().built == ["buurten", "per_buurt", "overview"]
    assert project.query(f"SELECT naam FROM {project.schema}.buurten WHERE code = '0364'") == [("Zuid!",)]


def test_a_known_file_is_not_hashed_unless_verify(project):
    small_catalog(project)
    assert project.build().ok
    os.utime(project.root / "data/raw/buurten.csv")  # touched: hashed once by the next build, which remembers it
    assert project.build().built == []
    project.execute("UPDATE catalog.file_hashes SET sha256 = repeat('0', 64) WHERE path = 'data/raw/buurten.csv'")
    assert states(project)["buurten"]["why"] == "file changed"  # the remembered hash is trusted: nothing was read
    assert states(project, verify=True)["buurten"]["state"] == "up to date"  # --verify reads every file


def test_a_build_records_the_git_commit_and_whether_the_tree_was_dirty(project):
    small_catalog(project)
    git = ["git", "-C", str(project.root), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "datasets.yml", "sql"], check=True)
    subprocess.run([*git, "commit", "-qm", "catalog"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    clean = project.build("buurten")
    (project.root / "sql/overview.sql").write_text((project.root / "sql/overview.sql").read_text() + "\n-- edited\n")
    dirty = project.build("meldingen")
    subprocess.run([*git, "commit", "-qam", "edited"], check=True)
    project.sql("extra.sql", "SELECT 1 AS n")  # a recipe the commit does not hold
    entries = yaml.safe_load((project.root / "datasets.yml").read_text())["datasets"]
    (project.root / "datasets.yml").write_text(yaml.safe_dump({"datasets": {**entries, "extra": {"schema": project.schema,
                                                                                                  "sql": "sql/extra.sql"}}}))
    subprocess.run([*git, "commit", "-qam", "extra entry, its recipe not added"], check=True)
    untracked = project.build("extra")
    recorded = dict(project.query("SELECT id, (git_commit, git_dirty)::text FROM catalog.builds WHERE id IN (:a, :b, :c)",
                                  {"a": clean.build_id, "b": dirty.build_id, "c": untracked.build_id}))
    now = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert recorded == {clean.build_id: f"({head},f)", dirty.build_id: f"({head},t)", untracked.build_id: f"({now},t)"}


def test_parallel_builds_of_two_tables_under_one_view_never_deadlock(project):
    project.raw("a.csv", "id;n\n1;1\n")
    project.raw("b.csv", "id;m\n1;2\n")
    project.catalog({"a": {"path": "a.csv"}, "b": {"path": "b.csv"}})
    assert project.build().ok
    with al.engine().begin() as conn:
        conn.exec_driver_sql(f"CREATE VIEW {project.schema}.both_of_them AS SELECT a.id, a.n, b.m FROM {project.schema}.a"
                             f" JOIN {project.schema}.b USING (id)")
    for _ in range(4):
        result = project.build(jobs=2, force=True)
        assert result.ok, [o.message for o in result.outcomes]
    assert project.query(f"SELECT id, n, m FROM {project.schema}.both_of_them") == [(1, 1, 2)]


def test_a_recorded_hash_is_not_reused_for_another_file_of_the_same_size_and_time(project):
    jan, feb = project.raw("jan.csv", "code\nA\nB\n"), project.raw("feb.csv", "code\nC\nD\n")
    os.utime(feb, ns=(jan.stat().st_atime_ns, jan.stat().st_mtime_ns))  # as tar x or cp -p leave them
    project.catalog({"maand": {"path": "jan.csv"}})
    assert project.build().ok
    project.catalog({"maand": {"path": "feb.csv"}})
    assert project.build().built == ["maand"]
    assert project.current("maand")["sha256"] == hashlib.sha256(feb.read_bytes()).hexdigest()


def test_a_table_replaced_outside_the_catalog_is_not_up_to_date(project):
    import pandas as pd

    small_catalog(project)
    assert project.build().ok
    al.load(pd.DataFrame({"code": ["X"]}), "buurten", schema=project.schema, if_exists="replace")
    assert "replaced or changed outside the catalog" in states(project)["buurten"]["why"]
    assert states(project)["per_buurt"]["why"] == "input buurten changed"  # it was made of the catalog's buurten, not this one
    alone = project.build("per_buurt")
    assert "input buurten is changed outside the catalog: build it first" in alone.outcomes[0].message
    assert project.build().built == ["buurten", "per_buurt", "overview"]
    project.execute(f"ALTER TABLE {project.schema}.buurten ADD COLUMN opmerking text")
    assert states(project)["buurten"]["why"].startswith("columns changed outside the catalog since build")
    assert project.query(f"SELECT count(*) FROM {project.schema}.buurten") == [(3,)]


def test_a_table_another_entry_made_is_replaced_only_with_force(project):
    project.raw("a.csv", BUURTEN)
    project.catalog({"oud": {"path": "a.csv", "table": "gedeeld"}})
    assert project.build().ok
    project.catalog({"nieuw": {"path": "a.csv", "table": "gedeeld"}})
    assert "was made by entry oud" in states(project)["nieuw"]["why"]
    assert not project.build().ok
    assert project.build(force=True).built == ["nieuw"]


def test_a_table_and_its_declared_view_can_change_their_columns_in_one_build(project):
    project.raw("a.csv", "id;n\n1;5\n")
    project.catalog({"a": {"path": "a.csv"}, "v": {"sql": project.sql("v.sql", f"SELECT id, n FROM {project.schema}.a"),
                                                   "materialized": "view"}})
    assert project.build().ok
    project.raw("a.csv", "id;aantal\n1;6\n")
    project.sql("v.sql", f"SELECT id, aantal FROM {project.schema}.a")
    result = project.build()
    assert result.ok, [o.message for o in result.outcomes]
    assert project.query(f"SELECT id, aantal FROM {project.schema}.v") == [(1, 6)]
    assert {name: row["state"] for name, row in states(project).items()} == {"a": "up to date", "v": "up to date"}


def test_a_recipe_that_cannot_be_read_fails_its_entry_and_its_dependents_only(project):
    small_catalog(project)
    project.sql("per_buurt.sql", "SELECT code,\n  count(*) FROM buurten WHERE GROUP BY code")
    result = project.build()
    results = {o.name: o.result for o in result.outcomes}
    assert results == {"buurten": "built", "meldingen": "built", "containers": "built", "per_buurt": "failed", "overview": "skipped"}
    message = next(o.message for o in result.outcomes if o.name == "per_buurt")
    assert 'sql/per_buurt.sql: not valid SQL: syntax error at or near "GROUP" (line 2, column 31)' in message
    assert not project.command("status").returncode == 0


def test_names_without_a_schema_are_the_entrys_own_schemas_tables(project):
    with al.engine().begin() as conn:  # a namesake in public must not be what the recipe reads
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS public.test_catalog_namesake (code text)")
    try:
        project.raw("namesake.csv", BUURTEN)
        project.catalog({"test_catalog_namesake": {"path": "namesake.csv"},
                         "telling": {"sql": project.sql("telling.sql", "SELECT count(*) AS n FROM test_catalog_namesake")}})
        assert project.build().ok
        assert project.query(f"SELECT n FROM {project.schema}.telling") == [(3,)]
        assert project.current("telling")["inputs"] == ["test_catalog_namesake"]
    finally:
        with al.engine().begin() as conn:
            conn.exec_driver_sql("DROP TABLE public.test_catalog_namesake")


def test_percent_signs_in_recipes_checks_and_views_are_text(project):
    project.raw("a.csv", "naam\nA%b\nAbc\n")
    project.catalog({"a": {"path": "a.csv", "checks": [{"sql": "SELECT * FROM {this} WHERE naam LIKE '%x%' -- none"}]},
                     "b": {"sql": project.sql("b.sql", f"SELECT naam FROM {project.schema}.a WHERE naam LIKE 'A\\%%' ESCAPE '\\'")}})
    assert project.build().ok
    with al.engine().begin() as conn:
        conn.execute(sa.text(f"CREATE VIEW {project.schema}.pct AS SELECT naam FROM {project.schema}.a WHERE naam LIKE '%\\%%' ESCAPE '\\'"))
    project.raw("a.csv", "naam\nA%b\nAbc\nC%d\n")
    assert project.build().ok
    assert project.query(f"SELECT naam FROM {project.schema}.b") == [("A%b",)]
    assert project.query(f"SELECT naam FROM {project.schema}.pct ORDER BY 1") == [("A%b",), ("C%d",)]


def test_grants_column_comments_and_indexes_given_by_hand_go_to_the_new_table(project):
    small_catalog(project)
    assert project.build().ok
    s = project.schema
    project.execute(
        f"GRANT SELECT ON {s}.buurten TO PUBLIC",
        f"CREATE INDEX buurten_naam_by_hand ON {s}.buurten (naam)",
        f"COMMENT ON COLUMN {s}.buurten.naam IS 'officieel'",
    )
    project.raw("buurten.csv", BUURTEN + "0366;Oost;400\n")
    result = project.build()
    assert "buurten" in result.built, [o.message for o in result.outcomes]
    assert project.query(f"SELECT has_table_privilege('public', '{s}.buurten', 'SELECT'), col_description('{s}.buurten'::regclass, 2),"
                         f" (SELECT count(*) FROM pg_indexes WHERE schemaname = '{s}' AND indexname = 'buurten_naam_by_hand')") == [
        (True, "officieel", 1)]


def test_a_shapefiles_dbf_is_part_of_its_fingerprint(project):
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame({"label": [1, 2]}, geometry=shapely.points([121000, 122000], [487000, 488000]), crs="EPSG:28992")
    (project.root / "data/raw").mkdir(parents=True)
    frame.to_file(project.root / "data/raw/stammen.shp")
    project.catalog({"stammen": {"path": "stammen.shp"}})
    assert project.build().ok
    assert [c["path"] for c in project.current("stammen")["companions"]] == [
        "data/raw/stammen.cpg", "data/raw/stammen.dbf", "data/raw/stammen.prj", "data/raw/stammen.shx"]
    frame.assign(label=[9, 2]).to_file(project.root / "data/raw/stammen.shp")  # the .dbf changes, the .shp not
    assert states(project)["stammen"]["why"] == "file changed"
    assert project.build().built == ["stammen"]
    assert project.query(f"SELECT label FROM {project.schema}.stammen ORDER BY label") == [(2,), (9,)]


def test_the_loaders_notes_are_printed_and_kept_and_its_hints_are_in_catalog_words(project):
    project.raw("a.csv", "code;n\n0363;1\n0364;NA\n0365;.\nkapot\n")
    project.catalog({"a": {"path": "a.csv"}})
    failed = project.build().outcomes[0]
    assert "skip_bad_lines: true" in failed.message and "=True" not in failed.message
    project.catalog({"a": {"path": "a.csv", "skip_bad_lines": True}})
    built = project.command("build")
    assert built.returncode == 0, built.stderr
    assert "skipped 1 malformed line(s)" in built.stdout
    assert any("skipped 1 malformed line(s)" in note for note in project.current("a")["notes"])


def test_a_changed_check_checks_the_table_again_without_making_it_again(project):
    small_catalog(project)
    assert project.build().ok
    oid = project.query(f"SELECT '{project.schema}.buurten'::regclass::oid")[0][0]
    entries = yaml.safe_load((project.root / "datasets.yml").read_text())["datasets"]
    entries["buurten"]["checks"].append({"rows": {"max": 2}})
    (project.root / "datasets.yml").write_text(yaml.safe_dump({"datasets": entries}))
    assert states(project)["buurten"]["why"] == "checks changed"
    failed = project.build()
    assert "rows: 3, more than the maximum 2" in next(o.message for o in failed.outcomes if o.name == "buurten")
    entries["buurten"]["checks"][-1] = {"rows": {"max": 3}}
    (project.root / "datasets.yml").write_text(yaml.safe_dump({"datasets": entries}))
    assert project.build().built == ["buurten"]  # re-checked; per_buurt and overview are untouched
    assert project.query(f"SELECT '{project.schema}.buurten'::regclass::oid")[0][0] == oid
    assert {name: row["state"] for name, row in states(project).items()} == dict.fromkeys(
        ["buurten", "meldingen", "containers", "per_buurt", "overview"], "up to date")


def test_orphans_are_looked_for_in_the_schemas_the_catalog_uses(project, tmp_path_factory):
    other = Project(tmp_path_factory.mktemp("other"), project.schema + "_x")
    with al.engine().begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{other.schema}"')
    try:
        other.raw("a.csv", BUURTEN)
        other.catalog({"elsewhere": {"path": "a.csv"}})
        assert other.build().ok
        (other.root / "datasets.yml").write_text("datasets: {}\n")  # the other project dropped its entry
        small_catalog(project)
        assert project.build().ok
        assert not any(row["state"] == "orphaned" and row["table"].startswith(other.schema + ".")
                       for row in al.catalog.status(project.root).to_dict("records"))
    finally:
        with al.engine().begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{other.schema}" CASCADE')


def test_a_bare_name_that_finds_a_table_no_entry_makes_is_outside(project):
    project.raw("b.csv", BUURTEN)
    project.catalog({"buurten": {"path": "b.csv", "schema": "public", "table": f"{project.schema}_b"},
                     "telling": {"sql": project.sql("t.sql", "SELECT count(*) AS n FROM b")}})
    project.execute(f"CREATE TABLE {project.schema}.b AS SELECT 1 AS code")  # by hand, in the entry's own schema
    assert project.build("telling").ok
    assert project.query(f"SELECT n FROM {project.schema}.telling") == [(1,)]
    assert project.current("telling")["inputs"] == []
    row = states(project)["telling"]
    assert row["state"] == "up to date" and f"reads {project.schema}.b, which the catalog does not make" in row["why"]
    project.execute(f"DROP TABLE IF EXISTS public.{project.schema}_b")


def test_a_view_made_from_its_new_recipe_whose_own_step_fails_is_not_called_up_to_date(project):
    project.raw("a.csv", "id;n\n1;5\n")
    project.catalog({"a": {"path": "a.csv"}, "v": {"sql": project.sql("v.sql", f"SELECT id, n FROM {project.schema}.a"),
                                                   "materialized": "view"}})
    assert project.build().ok
    project.raw("a.csv", "id;aantal\n1;6\n")
    project.sql("v.sql", f"SELECT id, aantal FROM {project.schema}.a")
    entries = yaml.safe_load((project.root / "datasets.yml").read_text())["datasets"]
    entries["v"]["checks"] = [{"rows": {"min": 2}}]  # fails: the view's own step stops
    (project.root / "datasets.yml").write_text(yaml.safe_dump({"datasets": entries}))
    result = project.build()
    assert {o.name: o.result for o in result.outcomes} == {"a": "built", "v": "failed"}
    comment = project.query(f"SELECT obj_description('{project.schema}.v'::regclass)")[0][0]
    assert "not checked yet" in comment
    assert states(project)["v"]["state"] == "stale"


def test_a_rebuilt_table_gets_its_gist_index_for_its_geometry_as_it_is_now(project):
    import geopandas as gpd
    import shapely

    points = gpd.GeoDataFrame({"code": ["A"]}, geometry=shapely.points([121000], [487000]), crs="EPSG:28992")
    (project.root / "data/raw").mkdir(parents=True)
    points.to_file(project.root / "data/raw/p.gpkg", layer="p")
    project.catalog({"p": {"path": "p.gpkg"}, "d": {"sql": project.sql("d.sql", f"SELECT code, geom FROM {project.schema}.p")}})
    assert project.build().ok
    project.sql("d.sql", f"SELECT code, geom AS punt FROM {project.schema}.p")  # the geometry column is renamed
    assert project.build().built == ["d"]
    assert project.query(f"SELECT indexname FROM pg_indexes WHERE schemaname = '{project.schema}' AND tablename = 'd'") == [
        ("d_punt_gist",)]
    project.catalog({"p": {"path": "p.gpkg", "spatial_index": False},
                     "d": {"sql": "sql/d.sql"}})
    assert "p" in project.build().built
    assert project.query(f"SELECT count(*) FROM pg_indexes WHERE schemaname = '{project.schema}' AND tablename = 'p'") == [(0,)]


def test_a_new_zip_without_the_old_prj_is_not_read_with_it(project, tmp_path):
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame({"n": [1]}, geometry=shapely.points([121000], [487000]), crs="EPSG:28992")
    frame.to_file(tmp_path / "s.shp")
    (project.root / "data/raw").mkdir(parents=True)
    with zipfile.ZipFile(project.root / "data/raw/s.zip", "w") as archive:
        for part in tmp_path.glob("s.*"):
            archive.write(part, part.name)
    project.catalog({"s": {"path": "s.zip", "member": "s.shp"}})
    assert project.build().ok
    with zipfile.ZipFile(project.root / "data/raw/s.zip", "w") as archive:  # a new export without its .prj
        for part in tmp_path.glob("s.*"):
            if part.suffix != ".prj":
                archive.write(part, part.name)
    message = project.build().outcomes[0].message
    assert "crs: " in message  # it has no CRS now, and says how to give one
    assert not (project.root / "data/interim/s/s.prj").exists()


def test_a_recheck_of_a_table_changed_by_hand_makes_it_again_and_failing_rows_read_as_written(project):
    project.raw("a.csv", "datum;n\n2031-01-02;-5\n")
    project.catalog({"a": {"path": "a.csv"}})
    assert project.build().ok
    project.execute(f"INSERT INTO {project.schema}.a VALUES ('2031-01-03', 7)")  # appended by hand: the comment stays
    project.catalog({"a": {"path": "a.csv", "checks": [{"sql": "SELECT * FROM {this} WHERE n < 0"}]}})
    message = project.build().outcomes[0].message
    assert "returned failing rows: datum=2031-01-02, n=-5" in message
    assert project.query(f"SELECT count(*) FROM {project.schema}.a") == [(2,)]  # made again from the file, then refused


def test_a_view_entry_keeps_the_grants_given_to_it_by_hand(project):
    small_catalog(project)
    assert project.build().ok
    project.execute(f"GRANT SELECT ON {project.schema}.overview TO PUBLIC")
    project.sql("overview.sql", (project.root / "sql/overview.sql").read_text() + "\n-- and now:\nWHERE true")
    assert project.build().built == ["overview"]
    assert project.query(f"SELECT has_table_privilege('public', '{project.schema}.overview', 'SELECT')") == [(True,)]


@pytest.mark.parametrize("reading", ["recipes", "queries"])
def test_a_build_makes_nothing_when_the_cache_disagrees_with_the_files(project, reading):
    """The cache decides the plan; a build reads datasets.yml and the SQL again first, and they must agree."""
    from analysis_lib.catalog import cache

    small_catalog(project)
    assert project.build().ok
    builds = project.query("SELECT count(*) FROM catalog.builds")
    project.raw("buurten.csv", BUURTEN.replace("Centrum", "Binnenstad"))
    if reading == "recipes":  # another table for buurten
        stored = cache._path("recipes", (project.root / "datasets.yml").read_text(encoding="utf-8"))
        wrong = stored.read_text(encoding="utf-8").replace('"table": "buurten"', '"table": "wijken"')
        says = "datasets.yml: the cache in .* holds another reading of it than the file gives"
    else:  # per_buurt reading no meldingen, so not stale when they change
        stored = cache._path("queries", (project.root / "sql" / "per_buurt.sql").read_text(encoding="utf-8"))
        wrong = stored.read_text(encoding="utf-8").replace(f'["{project.schema}", "meldingen"]', f'["{project.schema}", "elders"]')
        says = "sql/per_buurt.sql: the cache in .* holds another reading of it than the file gives"
    assert wrong != stored.read_text(encoding="utf-8")
    stored.write_text(wrong, encoding="utf-8")
    with pytest.raises(al.errors.CatalogError, match=says):
        project.build()
    assert project.query("SELECT count(*) FROM catalog.builds") == builds
    assert project.query(f"SELECT naam FROM {project.schema}.buurten WHERE code = '0363'") == [("Centrum",)]
    assert project.query(f"SELECT to_regclass('{project.schema}.wijken')") == [(None,)]


def test_status_and_a_no_op_build_import_neither_sqlalchemy_nor_pydantic_nor_pglast(project):
    """What keeps them quick: they connect through psycopg alone (analysis_lib.pg) and take the
    validated datasets.yml and the parsed SQL from the cache the build filled (catalog.cache)."""
    small_catalog(project)
    assert project.build().ok
    done = _status_then_build_in_a_new_process(project)
    assert done == ["['up", "to", "date']", "[]", "[]"]


def test_a_recipe_edited_after_its_reading_was_cached_is_read_again_and_rebuilt(project):
    small_catalog(project)
    assert project.build().ok
    edited = project.root / "sql" / "overview.sql"
    edited.write_text(edited.read_text().replace("AS containers", "AS containers_in_buurt"))
    done = _status_then_build_in_a_new_process(project)
    assert done == ["['stale',", "'up", "to", "date']", "['overview']", "['pglast',", "'pydantic',", "'sqlalchemy',", "'yaml']"]
    assert [c for c, in project.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = 'overview' ORDER BY ordinal_position",
        {"s": project.schema})] == ["code", "meldingen", "containers_in_buurt"]


def _status_then_build_in_a_new_process(project) -> list[str]:
    """The states status saw, what the build built, and which of the slow imports the process made."""
    script = (
        "import sys\n"
        "from analysis_lib.catalog.builder import build\n"
        "from analysis_lib.catalog.status import status_rows\n"
        f"rows = status_rows({str(project.root)!r})\n"
        f"result = build({str(project.root)!r}, echo=lambda line: None)\n"
        "print(sorted({row['state'] for row in rows}), result.built,"
        " sorted(name for name in ('sqlalchemy', 'pydantic', 'pglast', 'yaml') if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()
