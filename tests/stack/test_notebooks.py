"""The notebooks as CI proves them: nbval compares every notebook with its committed outputs, and
papermill runs each one with other parameters; all in the lab, against PostGIS holding the sample data.

The lab works on a copy of notebooks/ in a folder its user may write to (the notebooks write sample
files to ../data/raw/sample and reports next to them), so a root-owned CI checkout is no obstacle.
"""

import json
import re
import shutil

import pytest

from stack_control import ROOT, lab_writable_folder

NBVAL = ["python", "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "--nbval-sanitize-with", "notebooks/sanitize.cfg"]


@pytest.fixture(scope="module")
def workspace(stack, sample_data):
    """A lab-writable copy of the notebooks (path relative to the checkout), with the sample data loaded."""
    with lab_writable_folder(stack, "notebooks") as folder:
        shutil.copytree(ROOT / "notebooks", folder / "notebooks")  # read there; data/ and reports/ are made beside it
        shutil.copy(ROOT / "datasets.yml", folder)  # the catalog the lineage notebook reads, with its recipes
        shutil.copytree(ROOT / "sql", folder / "sql")
        yield folder.relative_to(ROOT)


def sql(stack, query: str) -> str:
    return stack.exec("lab", "psql", "-Atc", query).stdout.strip()


def test_every_notebook_gives_its_committed_outputs(stack, workspace):
    notebooks = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks == ["00_getting_started.ipynb", "01_load_data.ipynb", "02_district_report.ipynb", "03_data_quality.ipynb", "04_sql_cells.ipynb",
                         "05_catalog_lineage.ipynb"]
    code_cells = sum(
        cell["cell_type"] == "code" for name in notebooks for cell in json.loads((ROOT / "notebooks" / name).read_text())["cells"]
    )
    result = stack.exec("lab", *NBVAL, "--confcutdir", str(workspace), f"{workspace}/notebooks", check=False)
    assert result.returncode == 0, result.stdout[-6000:]
    assert f"{code_cells} passed" in result.stdout.splitlines()[-1]


def test_nbval_fails_when_a_committed_answer_changes(stack, workspace):
    """The comparison is live: one changed figure in the KPI table's committed output fails its cell."""
    with lab_writable_folder(stack, "tampered") as folder:
        notebook = json.loads((ROOT / "notebooks" / "02_district_report.ipynb").read_text())
        kpi_cell = next(cell for cell in notebook["cells"] if "".join(cell["source"]).startswith("district.kpis"))
        data = kpi_cell["outputs"][0]["data"]
        committed = "".join(data["text/plain"])
        assert "851" in committed  # the committed meldingen figure of the default report
        data["text/plain"] = [committed.replace("851", "852", 1)]
        (folder / "02_district_report.ipynb").write_text(json.dumps(notebook))
        relative = folder.relative_to(ROOT)
        result = stack.exec("lab", *NBVAL, "--confcutdir", str(relative), f"{relative}/02_district_report.ipynb", check=False)
    assert result.returncode == 1
    assert "1 failed" in result.stdout.splitlines()[-1]
    assert "852" in result.stdout and "851" in result.stdout


def run_report(stack, workspace, notebook: str, *parameters: str, owner: bool = False, check: bool = True):
    arguments = [arg for pair in zip(parameters[::2], parameters[1::2], strict=True) for arg in ("-p", *pair)]
    return stack.exec(
        "lab", "analysis-lib", "run", f"{workspace}/notebooks/{notebook}", *arguments,
        "--output-dir", f"{workspace}/reports", *(["--owner"] if owner else []), check=check,
    )


def report_html(workspace, notebook: str, slug: str) -> str:
    return (ROOT / workspace / "reports" / notebook.removesuffix(".ipynb") / slug / "report.html").read_text()


@pytest.mark.parametrize(("radius", "landmarks"), [("300", ["Amsterdam Centraal", "Sloterplas", "Vondelpark"]), ("450", ["Sloterplas"])])
def test_getting_started_with_other_radii(stack, workspace, radius, landmarks):
    run_report(stack, workspace, "00_getting_started.ipynb", "min_radius", radius)
    html = report_html(workspace, "00_getting_started.ipynb", f"min_radius={radius}")
    for name in ["Dam", "Amsterdam Centraal", "Sloterplas", "Vondelpark"]:
        assert (f"<td>{name}</td>" in html) == (name in landmarks), name


@pytest.mark.parametrize(
    ("source", "layer", "table", "rows", "geometry_type"),
    [("buurten.gpkg", "wijken", "wijken_import", 44, "POLYGON"), ("afvalcontainers.geojson", "", "containers_import", 5000, "POINT")],
)
def test_load_data_with_other_files(stack, workspace, source, layer, table, rows, geometry_type):
    run_report(
        stack, workspace, "01_load_data.ipynb", "source", f"../data/raw/sample/{source}", "layer", layer, "table", table,
        "crs", "", owner=True,
    )
    assert sql(stack, f"SELECT count(*), Find_SRID('public', '{table}', 'geom'), GeometryType(min(geom)) FROM {table}") == f"{rows}|28992|{geometry_type}"


def test_load_data_needs_the_owner(stack, workspace):
    """Reports are read-only by default: the load notebook fails at the import and says why."""
    result = run_report(stack, workspace, "01_load_data.ipynb", "table", "refused_import", check=False)
    assert result.returncode == 1
    assert "cell #5 failed" in result.stderr and "permission denied" in result.stderr
    assert sql(stack, "SELECT to_regclass('refused_import') IS NULL") == "t"


@pytest.mark.parametrize(
    ("parameters", "slug"),
    [
        (("stadsdeel", "N", "start", "2024-03-01", "end", "2024-05-31", "categorie", "Afval"), "categorie=Afval,end=2024-05-31,stadsdeel=N,start=2024-03-01"),
        (("stadsdeel", "T", "start", "2024-01-01", "end", "2024-12-31", "top_n", "5"), "end=2024-12-31,stadsdeel=T,start=2024-01-01,top_n=5"),
    ],
)
def test_district_report_for_other_districts_and_periods(stack, workspace, parameters, slug):
    run_report(stack, workspace, "02_district_report.ipynb", *parameters)
    values = dict(zip(parameters[::2], parameters[1::2], strict=True))
    expected = sql(
        stack,
        "SELECT count(*) FROM meldingen m JOIN buurten b ON b.code = m.buurt"
        f" WHERE b.stadsdeel = '{values['stadsdeel']}'"
        f" AND (m.gemeld_op AT TIME ZONE 'Europe/Amsterdam')::date BETWEEN '{values['start']}' AND '{values['end']}'"
        + (f" AND m.categorie = '{values['categorie']}'" if "categorie" in values else ""),
    )
    html = report_html(workspace, "02_district_report.ipynb", slug)
    assert re.search(rf"<th>meldingen</th>\s*<td>{expected}</td>", html), expected
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64', html)) == 2  # the map and the trend chart
    top_rows = html.split("Buurten with the most")[1].split("</table>")[0].count("<tr>")  # body rows; the header row has a style
    assert top_rows == int(values.get("top_n", 10))


def test_district_report_names_a_stadsdeel_that_does_not_exist(stack, workspace):
    result = run_report(stack, workspace, "02_district_report.ipynb", "stadsdeel", "X", check=False)
    assert result.returncode == 1
    assert "cell #3 failed: SelectionError: stadsdeel 'X' does not exist; the codes are: A (Centrum)" in result.stderr
    assert not (ROOT / workspace / "reports" / "02_district_report" / "stadsdeel=X").exists()


@pytest.fixture
def messy_table(stack):
    sql(stack, "CREATE TABLE messy_quality AS SELECT 1 AS id, ST_GeomFromText('POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))', 28992) AS geom")
    yield "messy_quality"
    sql(stack, "DROP TABLE messy_quality")


@pytest.mark.parametrize("table", ["buurten", "messy_quality"])
def test_data_quality_of_other_tables(stack, workspace, messy_table, table):
    run_report(stack, workspace, "03_data_quality.ipynb", "table", table)
    html = report_html(workspace, "03_data_quality.ipynb", f"table={table}")
    if table == "buurten":
        assert "ok: no nulls, duplicates or bad geometries" in html and "EPSG:28992 Amersfoort / RD New" in html
    else:
        assert "<th>invalid geometries in geom</th>" in html and "Self-intersection" in html


@pytest.mark.parametrize("stadsdeel", ["N", "T"])
def test_sql_cells_for_other_districts(stack, workspace, stadsdeel):
    run_report(stack, workspace, "04_sql_cells.ipynb", "stadsdeel", stadsdeel)
    html = report_html(workspace, "04_sql_cells.ipynb", f"stadsdeel={stadsdeel}")
    buurten = sql(stack, f"SELECT count(*) FROM buurten WHERE stadsdeel = '{stadsdeel}'")
    assert f"DataFrame ({buurten}, 2)" in html
    assert "<td>analyst</td>" in html  # %sql reads through the read-only role
    assert "permission denied for schema public" in html  # and cannot write


def test_a_failing_sql_cell_fails_the_report_with_the_database_reason(stack, workspace):
    notebook = json.loads((ROOT / "notebooks" / "04_sql_cells.ipynb").read_text())
    refused = notebook["cells"][-1]
    refused["metadata"]["tags"] = []  # no longer an expected error
    path = ROOT / workspace / "notebooks" / "sql_write.ipynb"
    path.write_text(json.dumps(notebook))
    result = run_report(stack, workspace, "sql_write.ipynb", check=False)
    assert result.returncode == 1
    assert "failed: RuntimeError: (psycopg.errors.InsufficientPrivilege) permission denied for schema public" in result.stderr
    assert "%sql CREATE TABLE scratch (id int)" in result.stderr


@pytest.fixture(scope="module")
def cluster(stack):
    """The compose profile 'cluster': a Dask scheduler and a worker container (two worker processes)."""
    stack.compose("--profile", "cluster", "up", "--detach", "--wait", "scheduler", "worker")
    yield stack.exec("worker", "hostname").stdout.strip()
    stack.compose("--profile", "cluster", "rm", "--stop", "--force", "scheduler", "worker")


def test_run_batch_sends_every_run_to_the_cluster_workers(stack, workspace, cluster):
    grid = ROOT / workspace / "cluster-grid.yaml"
    grid.write_text("runs:\n  - {stadsdeel: A}\n  - {stadsdeel: X}\n  - {stadsdeel: N, categorie: Afval}\n")
    # from the notebooks' folder, with paths relative to it: the workers' own folder is the project's
    result = stack.exec(
        "lab", "analysis-lib", "run-batch", "02_district_report.ipynb", "--grid", "../cluster-grid.yaml",
        "--cluster", "--output-dir", "../cluster-reports", env={"DASK_SCHEDULER_ADDRESS": "tcp://scheduler:8786"},
        workdir=f"/home/lab/work/{workspace}/notebooks", check=False,
    )
    assert result.returncode == 1, result.stderr  # one run failed, the others finished
    # status, parameters, seconds, host, report or error: columns two or more spaces apart
    rows = {cells[1]: cells for line in result.stdout.splitlines() if line.startswith(("ok", "FAILED")) and (cells := re.split(r"\s{2,}", line))}
    assert rows["stadsdeel=A"][0] == rows["stadsdeel=N, categorie=Afval"][0] == "ok"
    assert rows["stadsdeel=X"][0] == "FAILED" and "stadsdeel 'X' does not exist" in rows["stadsdeel=X"][4]
    assert {row[3] for row in rows.values()} == {cluster}  # every run ran in the worker container
    assert stack.exec("lab", "hostname").stdout.strip() != cluster
    assert "runs: 2 ok, 1 failed" in result.stdout
    reports = ROOT / workspace / "cluster-reports" / "02_district_report"
    assert sorted(path.name for path in reports.iterdir() if path.is_dir()) == ["categorie=Afval,stadsdeel=N", "stadsdeel=A"]


def test_run_batch_names_a_missing_scheduler(stack, workspace):
    grid = ROOT / workspace / "one-run.yaml"
    grid.write_text("runs:\n  - {stadsdeel: A}\n")
    result = stack.exec(
        "lab", "analysis-lib", "run-batch", f"{workspace}/notebooks/02_district_report.ipynb", "--grid", str(grid.relative_to(ROOT)),
        "--cluster", check=False,
    )
    assert result.returncode == 1
    assert "no Dask scheduler: give one (--cluster tcp://scheduler:8786) or set DASK_SCHEDULER_ADDRESS" in result.stderr
