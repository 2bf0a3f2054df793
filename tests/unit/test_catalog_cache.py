"""The catalog's cache: datasets.yml's recipes and a derived entry's parsed SQL are worked out once per
text; what comes from the cache is what working them out gives, a changed text is worked out again,
and a cache that is damaged or cannot be written changes nothing but the time."""

import json
import os
import time
from pathlib import Path

import pytest

from analysis_lib.catalog import cache, queries, spec
from analysis_lib.catalog.plan import make_plan
from analysis_lib.catalog.recipes import read_declared
from analysis_lib.errors import CatalogError

CATALOG = """\
datasets:
  buurten:
    path: buurten.csv
    column_types: {code: text}
    checks: [{unique: [code]}]
  per_buurt:
    sql: per_buurt.sql
    schema: stats
    depends_on: [buurten]
  download:
    url: https://example.org/data/meldingen.csv
    sha256: "%s"
""" % ("0" * 64)


@pytest.fixture(autouse=True)
def storing(monkeypatch):
    """Each test starts as a process whose code is what was hashed (some make it otherwise)."""
    monkeypatch.setattr(cache, "_changed_under_us", False)


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "project"
    root.mkdir()
    (root / "datasets.yml").write_text(CATALOG, encoding="utf-8")
    return root


def _cached_files(root: Path) -> list[Path]:
    return sorted((root.parent / "cache" / "analysis-lib").rglob("*.json"))


def _refuse_to_work_it_out(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("worked out again, not taken from the cache")

    monkeypatch.setattr(spec, "parse_catalog", refuse)
    monkeypatch.setattr(queries, "parse_query", refuse)


def test_recipes_from_the_cache_are_the_ones_worked_out(project, monkeypatch):
    fresh = read_declared(project).recipes
    assert len(_cached_files(project)) == 1
    assert fresh["buurten"].options == {"path": "buurten.csv", "column_types": {"code": "text"}}
    assert (fresh["per_buurt"].schema, fresh["per_buurt"].table, fresh["per_buurt"].depends_on) == ("stats", "per_buurt", ("buurten",))
    _refuse_to_work_it_out(monkeypatch)
    cached = read_declared(project)
    assert cached.recipes == fresh
    assert list(cached.recipes) == ["buurten", "per_buurt", "download"]  # the file's order, which the plan keeps


def test_the_whole_entries_are_validated_from_the_same_text(project):
    declared = read_declared(project)
    (project / "datasets.yml").write_text("datasets: {}\n", encoding="utf-8")  # what the plan read is what is made
    assert declared.entries["buurten"].column_types == {"code": "text"}
    assert declared.entries["download"].sha256 == "0" * 64


def test_an_edited_catalog_is_read_again_and_its_errors_are_not_hidden_by_the_cache(project):
    read_declared(project)
    path = project / "datasets.yml"
    path.write_text(CATALOG.replace("{code: text}", "{code: integer}"), encoding="utf-8")
    assert read_declared(project).recipes["buurten"].options["column_types"] == {"code": "integer"}
    path.write_text(CATALOG.replace("column_types", "column_typo"), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"datasets.yml:4: datasets.buurten.column_typo: unknown field; did you mean column_types\?"):
        read_declared(project)
    assert len(_cached_files(project)) == 2  # the refused one is not kept


@pytest.mark.parametrize("damage", ["", "{not json", '{"digest": 1}', '[{"name": "buurten"}]', "[1, 2]"])
def test_a_damaged_cache_is_worked_out_again(project, damage):
    fresh = read_declared(project).recipes
    query = queries.read_query("SELECT b.code FROM stats.buurten b JOIN public.wijken w USING (wijk)")
    for stored in _cached_files(project):
        stored.write_text(damage, encoding="utf-8")
    assert read_declared(project).recipes == fresh
    again = queries.read_query("SELECT b.code FROM stats.buurten b JOIN public.wijken w USING (wijk)")
    assert again == query and again.reads == {("stats", "buurten"), ("public", "wijken")}
    assert all(stored.read_text(encoding="utf-8") != damage for stored in _cached_files(project))  # and stored whole again


def test_a_cache_that_cannot_be_written_only_costs_time(project, monkeypatch, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert read_declared(project).recipes["buurten"].path == "buurten.csv"
    assert queries.read_query("SELECT 1 FROM t").reads == {(None, "t")}


def test_a_relative_cache_home_is_ignored_as_xdg_says(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.folder() == tmp_path / ".cache" / "analysis-lib"


def test_a_query_is_parsed_once_per_text(project, monkeypatch):
    text = "WITH recent AS (SELECT * FROM meldingen WHERE jaar = 2024) SELECT buurt, count(*) FROM recent GROUP BY buurt"
    parsed = queries.read_query(text)
    _refuse_to_work_it_out(monkeypatch)
    assert queries.read_query(text) == parsed
    assert parsed.reads == {(None, "meldingen")}  # the CTE is not a table
    with pytest.raises(AssertionError, match="worked out again"):
        queries.read_query(text + " -- a comment is another text")


def test_confirming_reads_the_file_again_and_refuses_a_cache_that_disagrees(project):
    read_declared(project)
    [stored] = _cached_files(project)
    stored.write_text(stored.read_text(encoding="utf-8").replace('"table": "per_buurt"', '"table": "elsewhere"'), encoding="utf-8")
    declared = read_declared(project)
    assert declared.recipes["per_buurt"].table == "elsewhere"  # what planning reads: the cache is trusted as its own
    with pytest.raises(CatalogError, match=r"datasets.yml: the cache in .*analysis-lib holds another reading of it"):
        declared.confirm()  # what a build does before it makes anything


def test_the_key_is_the_code_that_reads_and_the_versions_of_its_libraries(monkeypatch):
    names = {source.name for source in cache.code_sources()}
    assert {"spec.py", "recipes.py", "fingerprints.py", "queries.py", "cache.py", "defaults.py"} <= names
    running = cache.code_digest()
    assert running == cache._RUNNING_CODE
    real_version = cache.metadata.version
    monkeypatch.setattr(cache.metadata, "version", lambda name: "9.9" if name == "pglast" else real_version(name))
    assert cache.code_digest() != running


def test_a_process_whose_code_changed_on_disk_stores_nothing(project, monkeypatch):
    monkeypatch.setattr(cache, "_RUNNING_CODE", "the code as it was when this process started")
    assert read_declared(project).recipes["buurten"].path == "buurten.csv"
    assert _cached_files(project) == []


@pytest.mark.parametrize("shared", ["group-writable", "other-writable", "kind folder group-writable", "a link"])
def test_a_cache_folder_others_could_write_is_not_read(project, tmp_path, shared):
    fresh = read_declared(project).recipes
    [stored] = _cached_files(project)
    stored.write_text(stored.read_text(encoding="utf-8").replace('"table": "per_buurt"', '"table": "elsewhere"'), encoding="utf-8")
    folder = stored.parent.parent
    if shared == "group-writable":
        folder.chmod(0o770)
    elif shared == "other-writable":
        folder.chmod(0o702)
    elif shared == "kind folder group-writable":
        stored.parent.chmod(0o770)
    else:
        moved = tmp_path / "elsewhere"
        folder.rename(moved)
        folder.symlink_to(moved)
    assert read_declared(project).recipes == fresh
    queries.read_query("SELECT 1 AS n")
    if shared != "kind folder group-writable":
        assert not (stored.parent.parent / "queries").exists()  # nothing made in a folder not the user's own


def test_a_home_that_does_not_exist_is_not_made(project, monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "gone"))
    assert read_declared(project).recipes["buurten"].path == "buurten.csv"
    assert not (tmp_path / "gone").exists()


def test_a_write_that_fails_leaves_no_temporary_file(project):
    key_path = cache._path("recipes", (project / "datasets.yml").read_text(encoding="utf-8"))
    key_path.mkdir(parents=True)  # where the file goes is a folder: os.replace fails
    key_path.parent.chmod(0o700)
    key_path.parent.parent.chmod(0o700)
    assert read_declared(project).recipes["buurten"].path == "buurten.csv"
    assert [p.name for p in key_path.parent.iterdir()] == [key_path.name]


GOLDEN_CATALOG = """\
datasets:
  buurten:
    path: buurten.csv
    crs: 28992
    x: x
    y: y
    column_types: {code: text}
    null_values: ["-", 0, 9.5]
    primary_key: [code]
    lock_timeout: 30
    checks: [{unique: [code]}, {rows: {min: 1}}, {geometry: {type: Point, srid: 28992}}]
  per_code:
    sql: sql/per_code.sql
    materialized: materialized view
  codes:
    path: buurten.csv
    depends_on: [buurten]
"""


def test_fingerprints_are_the_ones_builds_recorded_before_and_the_same_from_the_cache(tmp_path, monkeypatch):
    """Fingerprints as analysis-lib 0.1.0 made them before the cache (a file entry's depends_on counts
    since then): if these change, every table a user built turns stale (which a new loader version
    means to do, and nothing else should)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "buurten.csv").write_bytes(b"code;naam;x;y\n0363;Centrum;121000;487000\n")
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "per_code.sql").write_text("-- per code\nSELECT code, count(*) AS n FROM buurten GROUP BY code\n")
    (tmp_path / "datasets.yml").write_text(GOLDEN_CATALOG, encoding="utf-8")
    for reading in ("worked out", "from the cache"):
        if reading == "from the cache":
            _refuse_to_work_it_out(monkeypatch)
        steps = make_plan(read_declared(tmp_path), tmp_path, [], {}).steps
        assert {name: (step.fingerprint.data, step.fingerprint.checks) for name, step in steps.items()} == {
            "buurten": ("119cf0a3c16b0332fb3e2d6ae92b6f9ae0b3c7c434990a4dc0ac928fa6379dd1",
                        "21ad398de4c13b68483bd0a740cb449f47d3b7ab21ce7a3bea98f0f7cb4dc6b5"),
            "per_code": ("939b1bcc3df5b7a5dfd6a1814263c1589d746e5adc015659e5f972c27c77b5dd",
                         "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
            "codes": ("7371a01f5a845d128812e6fa8063c5ce5ec11e15335c494e9c3692ee739d8136",
                      "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
        }
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 2  # the recipes and one query


def test_a_result_is_found_by_the_running_code_too(project, monkeypatch):
    read_declared(project)
    monkeypatch.setattr(cache, "_RUNNING_CODE", "other code")
    monkeypatch.setattr(cache, "code_digest", lambda: "other code")  # as if this were that code, on disk too
    _refuse_to_work_it_out(monkeypatch)
    with pytest.raises(AssertionError, match="worked out again"):
        read_declared(project)


def test_a_module_imported_later_that_is_not_what_was_hashed_stops_storing(project, monkeypatch):
    monkeypatch.setitem(cache._HASHED, spec.__file__, "the digest of spec.py as it was")
    cache.loaded(spec.__file__)  # what spec.py does when it is imported
    assert read_declared(project).recipes["buurten"].path == "buurten.csv"
    assert _cached_files(project) == []


def test_results_unused_for_a_month_are_removed_and_a_use_keeps_one(project):
    read_declared(project)
    [used] = _cached_files(project)
    month_ago = time.time() - 31 * 86400
    os.utime(used, (month_ago, month_ago))
    unused = used.with_name("0" * 64 + ".json")
    unused.write_text("[]")
    os.utime(unused, (month_ago, month_ago))
    left = used.with_name("killed.tmp")
    left.write_text("")
    os.utime(left, (month_ago, month_ago))
    read_declared(project)  # a hit: used now
    queries.read_query("SELECT 1 AS n")  # a store: prunes
    (project / "datasets.yml").write_text(CATALOG + "  more:\n    path: more.csv\n", encoding="utf-8")
    read_declared(project)  # a store in the recipes folder
    assert used.exists() and not unused.exists() and not left.exists()


def test_confirming_refuses_cached_readings_of_sql_that_made_the_plan_wrong(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.sql").write_text("SELECT * FROM a")
    (tmp_path / "c.sql").write_text("SELEC 1")  # not SQL
    (tmp_path / "datasets.yml").write_text("datasets:\n  a:\n    path: a.csv\n  b:\n    sql: b.sql\n  c:\n    sql: c.sql\n")
    plan = make_plan(read_declared(tmp_path), tmp_path, [], set())
    assert plan.steps["c"].state == "cannot be built"
    plan.confirm()
    for text, reads in (("SELECT * FROM a", [[None, "b"]]), ("SELEC 1", [])):  # b reads itself; c parses
        stored = cache._path("queries", text)
        stored.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        stored.write_text(json.dumps({"digest": "0" * 64, "reads": reads}))
    plan = make_plan(read_declared(tmp_path), tmp_path, [], set())
    assert plan.steps["b"].state == "cannot be built" and plan.steps["c"].state == "missing"
    with pytest.raises(CatalogError, match="b.sql: the cache in .* holds another reading of it"):
        plan.confirm()
    (tmp_path / "b.sql").write_text("SELECT x FROM a")
    plan = make_plan(read_declared(tmp_path), tmp_path, [], set())
    with pytest.raises(CatalogError, match="c.sql: the cache in .* holds another reading of it"):
        plan.confirm()
