"""datasets.yml: what it accepts, how it says what is wrong (file, line, field), its published JSON
Schema, and the reading of derived entries' SQL by PostgreSQL's parser."""

import json
from pathlib import Path

import pytest

from analysis_lib.catalog.fingerprints import Fingerprint, reasons
from analysis_lib.catalog.plan import make_plan
from analysis_lib.catalog.queries import QueryProblem, read_query
from analysis_lib.catalog.recipes import read_declared
from analysis_lib.catalog.spec import CatalogError, published_schema_text, read_catalog

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "datasets.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_published_json_schema_is_the_one_the_code_makes():
    assert (ROOT / "docs" / "datasets.schema.json").read_text(encoding="utf-8") == published_schema_text(), (
        "regenerate docs/datasets.schema.json (see README, The dataset catalog)")
    schema = json.loads(published_schema_text())
    assert "datasets" in schema["properties"]
    assert "checks" in schema["$defs"]["Entry"]["properties"]


def test_the_projects_own_catalog_is_valid():
    catalog = read_catalog(ROOT / "datasets.yml")
    assert {"buurten", "meldingen", "meldingen_per_buurt_maand", "buurten_overzicht"} <= set(catalog.datasets)
    assert catalog.datasets["buurten_overzicht"].materialized == "view"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("datasets:\n  a:\n    path: a.csv\n    crs: [1]\n", 4, "datasets.a.crs"),
        ("datasets:\n  a:\n    path: a.csv\n    colour: red\n", 4, "unknown field"),
        ("datasets:\n  a:\n    path: a.csv\n    sql: b.sql\n", 2, "exactly one of path, url or sql"),
        ("datasets:\n  a:\n    url: https://example.org/a.csv\n", 2, "needs its sha256"),
        ("datasets:\n  Buurten:\n    path: a.csv\n", 2, "datasets.Buurten"),
        ("datasets:\n  a:\n    path: ../elsewhere.csv\n", 3, "inside the project"),
        ("datasets:\n  a:\n    path: a.csv\n    checks:\n      - {rows: {min: 1}, unique: [x]}\n", 5, "exactly one of"),
        ("datasets:\n  a:\n    path: a.csv\n    column_types: {code: string}\n", 4, "datasets.a.column_types.code"),
        ("datasets:\n  a:\n    path: a.csv\n  b:\n    path: b.csv\n    table: a\n", 1, "both make public.a"),
        ("datasets:\n  a:\n    url: https://example.org/a\n    sha256: " + "ab" * 32 + "\n    headers: {X-Api-Key: abc123}\n", 5,
         "never its value"),
        ("datasets:\n  a: [\n", 3, "not valid YAML"),
        ("datasets:\n  a:\n    path: a.csv\n  a:\n    path: b.csv\n", 4, "'a' is given twice (first on line 2)"),
        ("datasets:\n  a:\n    path: a.csv\n    schema: catalog\n", 4, "the workbench's or PostgreSQL's own"),
        ("datasets:\n  a:\n    url: https://example.org/export/\n    sha256: " + "ab" * 32 + "\n", 2, "give file:"),
        ("datasets:\n  a:\n    path: a.csv\n    column_type: {a: text}\n", 4, "did you mean column_types?"),
        ("datasets:\n  a:\n    path: a.csv\n    checks:\n      - notnull: [a]\n", 5, "datasets.a.checks.0.notnull: unknown field; did you mean not_null?"),
        ("datasets:\n  a:\n    url: https://example.org/a\n    sha256: 1234\n", 4, "put the hash in quotes"),
        ("datasets:\n  a:\n    url: https://analyst:s3cret@example.org/a.csv\n    sha256: '" + "ab" * 32 + "'\n", 2, "the url holds a secret"),
        ("datasets:\n  a:\n    url: https://ghp_token@example.org/a.csv\n    sha256: '" + "ab" * 32 + "'\n", 2, "the url holds a secret"),
        ("datasets:\n  a:\n    path: a.csv\n    null_values: [.nan]\n", 4, "datasets.a.null_values.0"),
    ],
)
def test_a_wrong_catalog_is_refused_naming_its_line_and_field(tmp_path, text, line, says):
    path = write(tmp_path, text)
    with pytest.raises(CatalogError) as raised:
        read_catalog(path)
    message = str(raised.value)
    assert f"{path}:{line}:" in message
    assert says in message


def test_secrets_in_headers_are_references_to_the_environment(tmp_path):
    path = write(tmp_path, "datasets:\n  a:\n    url: https://example.org/a\n    sha256: " + "ab" * 32
                 + "\n    headers: {X-Api-Key: '${env:CBS_KEY}', Accept: text/csv}\n")
    assert read_catalog(path).datasets["a"].headers["X-Api-Key"] == "${env:CBS_KEY}"


def test_the_sql_digest_ignores_layout_and_comments_but_not_what_the_query_says():
    first = read_query("SELECT a, count(*) FROM t GROUP BY a")
    relaid = read_query("-- counted per a\nselect a,\n       COUNT(*)\n  from t /* all of it */ group by a;")
    other_literal = read_query("SELECT a, count(*) FROM t WHERE a > 1 GROUP BY a")
    assert first.digest == relaid.digest
    assert first.digest != other_literal.digest
    assert read_query("SELECT 1 AS n").digest != read_query("SELECT 2 AS n").digest


def test_the_tables_a_query_reads_come_from_the_parser():
    query = read_query(
        "WITH recent AS (SELECT * FROM meldingen WHERE gemeld_op > now() - interval '1 year')"
        " SELECT b.code, (SELECT count(*) FROM wijk.containers c WHERE c.buurt = b.code) FROM recent r"
        " JOIN buurten b ON b.code = r.buurt, LATERAL (SELECT 1 FROM \"Mixed Case\") x WHERE b.code IN (SELECT code FROM extra)")
    assert query.reads == {(None, "meldingen"), ("wijk", "containers"), (None, "buurten"), (None, "Mixed Case"), (None, "extra")}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("SELECT 1; SELECT 2", "one SELECT, found 2"),
        ("CREATE TABLE x AS SELECT 1", "found CreateTableAs"),
        ("SELECT 1 INTO x", "found Select"),
        ("WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone", "DELETE in a WITH"),
        ("SELECT * FROM t FOR UPDATE", "FOR UPDATE"),
        ("SELEC 1", "not valid SQL"),
    ],
)
def test_a_recipe_is_one_select_that_only_reads(text, says):
    with pytest.raises(QueryProblem, match=says):
        read_query(text)


def _project(tmp_path: Path, entries: str, files: dict[str, str]) -> Path:
    write(tmp_path, "datasets:\n" + entries)
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_entries_are_ordered_by_what_they_read_and_a_circle_is_refused(tmp_path):
    root = _project(tmp_path, "  c:\n    sql: c.sql\n  b:\n    sql: b.sql\n  a:\n    path: a.csv\n  d:\n    sql: d.sql\n    depends_on: [c]\n",
                    {"c.sql": "SELECT * FROM b", "b.sql": "SELECT * FROM public.a", "data/raw/a.csv": "x\n1\n", "d.sql": "SELECT 1"})
    plan = make_plan(read_declared(root), root, [], set())
    assert list(plan.steps) == ["a", "b", "c", "d"]
    assert plan.downstream("b") == ["c", "d"]
    assert plan.selected([], ["b"]) == ["b", "c", "d"]
    assert plan.selected(["a"], []) == ["a"]
    (root / "b.sql").write_text("SELECT * FROM c")
    with pytest.raises(CatalogError, match="in a circle: (b -> c -> b|c -> b -> c)"):
        make_plan(read_declared(root), root, [], set())


def test_a_missing_file_makes_its_entry_and_its_dependents_unbuildable_not_the_others(tmp_path):
    root = _project(tmp_path, "  a:\n    path: gone.csv\n  b:\n    sql: b.sql\n  c:\n    path: c.csv\n",
                    {"b.sql": "SELECT * FROM a", "data/raw/c.csv": "x\n1\n"})
    plan = make_plan(read_declared(root), root, [], set())
    assert plan.steps["a"].state == "cannot be built" and "gone.csv" in plan.steps["a"].reasons[0]
    assert plan.steps["b"].state == "cannot be built" and "input a" in plan.steps["b"].reasons[0]
    assert plan.steps["c"].state == "missing"


def test_reasons_name_each_component_that_changed():
    old = Fingerprint({"file": "1", "options": {"crs": 28992, "x": "x"}, "loader": "0.1", "inputs": {"a": "x", "b": "y"}}, "c1")
    new = Fingerprint({"file": "2", "options": {"x": "lon", "make_valid": True}, "loader": "0.2", "inputs": {"a": "x2", "c": "z"}}, "c1")
    assert reasons(old, new) == ["file changed", "options changed (crs, make_valid, x)", "input a changed", "no longer reads b", "new input c",
                                 "the loader's version changed (0.1 -> 0.2)"]
    assert reasons(old, Fingerprint(old.components, "c2")) == ["checks changed"]
    assert reasons(old, old) == []


def test_a_file_that_is_not_utf8_is_named_with_its_line_and_a_bom_is_allowed(tmp_path):
    root = _project(tmp_path, "  a:\n    path: a.csv\n  b:\n    sql: b.sql\n  c:\n    sql: c.sql\n", {"data/raw/a.csv": "x\n1\n"})
    (root / "b.sql").write_bytes("-- café\nSELECT * FROM a".encode("cp1252"))
    (root / "c.sql").write_bytes("\ufeffSELECT 1 AS n".encode("utf-8"))  # as Notepad saves it
    steps = make_plan(read_declared(root), root, [], set()).steps
    assert steps["b"].state == "cannot be built"
    assert steps["b"].reasons == ["b.sql:1: not UTF-8 (byte 0xe9); save the file as UTF-8"]
    assert steps["c"].state == "missing" and steps["c"].query.text == "SELECT 1 AS n"
    assert steps["a"].state == "missing"
    (root / "datasets.yml").write_bytes("datasets:\n  a:\n    path: a.csv # één\n".encode("latin-1"))
    with pytest.raises(CatalogError, match=r"datasets.yml:3: not UTF-8 \(byte 0xe9\)"):
        read_declared(root)
