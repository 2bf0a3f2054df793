"""The papermill runner: parameters checked before a kernel starts, whole reports or none, named failures."""

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from analysis_lib.reports import ReportError, ReportFailed, parameters_of, run

PARAMETERS = '''stadsdeel = "A"  # stadsdeel code
jaar: int = 2024  # year of the report
drempel = 0.5  # threshold
alleen_open = False  # only open reports
start = "2024-01-01"  # first day, YYYY-MM-DD
categorieen = ["Afval", "Groen en water"]  # categories
'''


def notebook(folder: Path, *cells: str, parameters: str | None = PARAMETERS, name: str = "rapport") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def outputs(path: Path) -> str:
    cells = nbformat.read(path, as_version=4).cells
    return "".join(output.get("text", "") for cell in cells if cell.cell_type == "code" for output in cell.outputs)


def test_parameters_are_read_with_types_and_help(tmp_path):
    declared = parameters_of(notebook(tmp_path))
    assert {name: (p.type_name, p.default, p.help) for name, p in declared.items()} == {
        "stadsdeel": ("str", "A", "stadsdeel code"),
        "jaar": ("int", 2024, "year of the report"),
        "drempel": ("float", 0.5, "threshold"),
        "alleen_open": ("bool", False, "only open reports"),
        "start": ("str", "2024-01-01", "first day, YYYY-MM-DD"),
        "categorieen": ("list", ["Afval", "Groen en water"], "categories"),
    }


def test_a_run_converts_strings_as_an_analyst_means_them_and_writes_notebook_and_html(tmp_path):
    path = notebook(tmp_path, "print(repr((stadsdeel, jaar, drempel, alleen_open, start, categorieen)))")
    report = run(
        path,
        {"stadsdeel": "N", "jaar": "2023", "drempel": "0,75", "alleen_open": "true", "start": "2023-06-01", "categorieen": "Afval, Schoon"},
        output_dir=tmp_path / "reports",
        read_only=False,
    )
    assert report.notebook.parent == tmp_path / "reports" / "rapport" / (
        "alleen_open=True,categorieen=Afval+Schoon,drempel=0.75,jaar=2023,stadsdeel=N,start=2023-06-01"
    )
    assert "('N', 2023, 0.75, True, '2023-06-01', ['Afval', 'Schoon'])" in outputs(report.notebook)
    html = report.html.read_text()
    assert "<html" in html and "categorieen" in html
    assert "jp-Notebook" in html  # JupyterLab's look
    assert not re.findall(r'<script[^>]+src="http', html)  # opens offline: nothing loaded from a CDN


def test_hide_code_leaves_the_code_out_of_the_html(tmp_path):
    path = notebook(tmp_path, "geheim_detail = 41 + 1\nprint('uitkomst', geheim_detail)")
    shown = run(path, output_dir=tmp_path / "a", read_only=False).html.read_text()
    hidden = run(path, output_dir=tmp_path / "b", read_only=False, hide_code=True).html.read_text()
    assert "geheim_detail" in shown and "geheim_detail" not in hidden and "uitkomst 42" in hidden


def test_lab_only_cells_run_but_stay_out_of_the_html(tmp_path):
    path = notebook(tmp_path, "print('in het rapport')", "print('alleen in het lab')")
    written = nbformat.read(path, as_version=4)
    written.cells[-1].metadata["tags"] = ["lab-only"]
    nbformat.write(written, path)
    report = run(path, output_dir=tmp_path / "reports", read_only=False)
    assert "alleen in het lab" in outputs(report.notebook)
    html = report.html.read_text()
    assert "in het rapport" in html and "alleen in het lab" not in html


def test_a_read_only_run_with_database_url_but_no_analyst_url_is_refused_before_a_kernel_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://owner:secret@db.example:5432/d")
    monkeypatch.delenv("ANALYST_DATABASE_URL", raising=False)
    path = notebook(tmp_path, "print('never')")
    with pytest.raises(ReportError, match=r"needs ANALYST_DATABASE_URL next to DATABASE_URL, or run with read_only=False \(--owner\)"):
        run(path, output_dir=tmp_path / "reports")
    assert not (tmp_path / "reports" / "rapport" / "defaults").exists()


def test_read_only_by_default(tmp_path):
    path = notebook(tmp_path, "import analysis_lib as al\nprint('user', al.server_info().current_user)")
    assert "user analyst" in outputs(run(path, output_dir=tmp_path / "ro").notebook)
    assert "user analyst" not in outputs(run(path, output_dir=tmp_path / "owner", read_only=False).notebook)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"wijk": "AF"}, r"unknown parameter wijk for .*rapport\.ipynb; it takes: stadsdeel \(str, default 'A'\), jaar \(int"),
        ({"jaar": "twintig"}, r"parameter jaar: 'twintig' is not a int \(default 2024\)"),
        ({"alleen_open": "misschien"}, r"parameter alleen_open: 'misschien' is not a bool"),
        ({"start": "1 juni"}, r"parameter start: '1 juni' is not a date \(YYYY-MM-DD\)"),
        ({"drempel": "veel"}, r"parameter drempel: 'veel' is not a float"),
    ],
)
def test_bad_parameters_are_refused_before_a_kernel_starts(tmp_path, given, message):
    path = notebook(tmp_path, "raise SystemExit('a kernel ran')")
    with pytest.raises(ReportError, match=message):
        run(path, given, output_dir=tmp_path / "reports", read_only=False)
    assert not (tmp_path / "reports").exists()


def test_the_failing_cell_is_counted_as_written_also_after_markdown_cells(tmp_path):
    path = notebook(tmp_path, "x = 1", "raise ValueError('kapot')")
    written = nbformat.read(path, as_version=4)
    written.cells.insert(0, nbformat.v4.new_markdown_cell("# Rapport"))
    written.cells.insert(2, nbformat.v4.new_markdown_cell("Uitleg"))
    nbformat.write(written, path)
    with pytest.raises(ReportFailed, match=r"cell #5 failed: ValueError: kapot") as failure:
        run(path, {"jaar": "2023"}, output_dir=tmp_path / "reports", read_only=False)
    assert failure.value.cell == 5


def test_missing_notebook(tmp_path):
    with pytest.raises(ReportError, match=r"nergens\.ipynb: no such notebook"):
        run(tmp_path / "nergens.ipynb", output_dir=tmp_path)


def test_a_notebook_without_a_parameters_cell_runs_and_refuses_parameters(tmp_path):
    plain = notebook(tmp_path, "x = 6 * 7", "print('answer', x)", parameters=None, name="plain")
    report = run(plain, output_dir=tmp_path / "reports", read_only=False)
    assert report.html == tmp_path / "reports" / "plain" / "defaults" / "report.html"
    (tmp_path / "made-here").mkdir()
    assert report.html.parent.stat().st_mode & 0o777 == (tmp_path / "made-here").stat().st_mode & 0o777  # not mkdtemp's 0700
    assert "answer 42" in outputs(report.notebook) and "answer 42" in report.html.read_text()
    with pytest.raises(ReportError, match=r"plain\.ipynb takes no parameters \(x given\): it has no cell tagged 'parameters'"):
        run(plain, {"x": "1"}, output_dir=tmp_path / "reports", read_only=False)
    done = subprocess.run(
        [sys.executable, "-m", "analysis_lib", "run", str(plain), "--output-dir", str(tmp_path / "cli"), "--owner"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cli" / "plain" / "defaults" / "report.html").is_file()


def test_a_failing_cell_is_named_and_no_report_is_made(tmp_path):
    path = notebook(tmp_path, "x = 1", "totaal = 1 / (jaar - jaar)", "print('never')")
    with pytest.raises(ReportFailed, match=r"cell #3 failed: ZeroDivisionError: division by zero\n    totaal = 1 / \(jaar - jaar\)") as failure:
        run(path, output_dir=tmp_path / "reports", read_only=False)
    report_folder = tmp_path / "reports" / "rapport" / "defaults"
    assert not report_folder.exists()
    assert failure.value.failed_notebook == report_folder.parent / "defaults.failed.ipynb"
    assert failure.value.failed_notebook.exists()
    assert [p.name for p in (tmp_path / "reports" / "rapport").iterdir() if p.name != ".notebook"] == ["defaults.failed.ipynb"]


def test_failed_runs_whose_values_differ_after_a_dot_keep_a_failed_notebook_each(tmp_path):
    path = notebook(tmp_path, "raise ValueError(f'drempel {drempel}')")
    for value in ("3.5", "3.75"):
        with pytest.raises(ReportFailed, match=f"drempel {value}"):
            run(path, {"drempel": value}, output_dir=tmp_path / "reports", read_only=False)
    kept = sorted(p.name for p in (tmp_path / "reports" / "rapport").iterdir() if p.name != ".notebook")
    assert kept == ["drempel=3.5.failed.ipynb", "drempel=3.75.failed.ipynb"]
    assert "drempel 3.75" in (tmp_path / "reports" / "rapport" / "drempel=3.75.failed.ipynb").read_text()


def test_a_cell_timeout_names_the_cell_that_hung(tmp_path):
    path = notebook(tmp_path, "x = 1", "import time\ntime.sleep(30)", "print('after')")
    with pytest.raises(ReportFailed, match=r"cell #3 did not finish within 3 s; the cells after it did not run\n    import time") as failure:
        run(path, {"jaar": "2020"}, output_dir=tmp_path / "reports", read_only=False, timeout=3)
    assert failure.value.cell == 3  # parameters, x = 1, then the sleep; papermill's injected cell not counted
    assert not (tmp_path / "reports" / "rapport" / "defaults").exists()


def test_a_dead_kernel_is_reported(tmp_path):
    path = notebook(tmp_path, "import os\nos._exit(3)", "print('after')")
    with pytest.raises(ReportFailed, match=r"the kernel died while running cell #2 .*\n    import os"):
        run(path, output_dir=tmp_path / "reports", read_only=False)


def test_an_unwritable_output_folder_is_refused_before_running(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ReportError, match=r"cannot write reports under .*a-file"):
        run(notebook(tmp_path, "x = 1"), output_dir=blocker, read_only=False)


def test_command_line_run_with_a_parameter_file_and_its_exit_codes(tmp_path):
    path = notebook(tmp_path, "print('stadsdeel', stadsdeel, jaar)")
    (tmp_path / "params.yaml").write_text("stadsdeel: T\njaar: 2022\n")
    command = [sys.executable, "-m", "analysis_lib", "run", str(path), "-f", str(tmp_path / "params.yaml"), "-p", "jaar", "2021",
               "--output-dir", str(tmp_path / "reports"), "--owner"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    executed = Path(done.stdout.split("notebook: ", 1)[1].splitlines()[0])
    assert "stadsdeel T 2021" in outputs(executed)
    bad = subprocess.run([*command, "-p", "kleur", "rood"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "unknown parameter kleur" in bad.stderr
    assert json.loads(executed.read_text())["cells"]  # the earlier report is untouched


def test_a_batch_runs_every_set_in_parallel_and_one_failure_or_dead_kernel_stops_nothing(tmp_path):
    from analysis_lib.batch import parameter_sets, run_batch, summary

    path = notebook(
        tmp_path,
        "import os\nif stadsdeel == 'F': raise ValueError('geen data voor F')\nif stadsdeel == 'K': os._exit(9)\nprint('rapport', stadsdeel, jaar)",
    )
    runs = parameter_sets({"parameters": {"stadsdeel": ["A", "F", "K", "N"], "jaar": [2024]}})
    assert runs == [{"stadsdeel": s, "jaar": 2024} for s in "AFKN"]
    outcomes = run_batch(path, runs, workers=2, output_dir=tmp_path / "reports", read_only=False)
    assert [(o.parameters["stadsdeel"], o.ok) for o in outcomes] == [("A", True), ("F", False), ("K", False), ("N", True)]
    assert "ValueError: geen data voor F" in outcomes[1].error
    assert "the kernel died" in outcomes[2].error
    assert "rapport N 2024" in outputs(outcomes[3].html.parent / "notebook.ipynb")
    table = summary(outcomes)
    assert table.splitlines()[-1] == "runs: 2 ok, 2 failed"
    assert "FAILED  stadsdeel=F, jaar=2024" in table


def test_a_batch_runs_its_sets_at_the_same_time(tmp_path):
    from analysis_lib.batch import run_batch

    path = notebook(tmp_path, "import time\nstarted = time.time()\ntime.sleep(2)\nprint('ran', started, time.time())")
    outcomes = run_batch(path, [{"stadsdeel": "A"}, {"stadsdeel": "N"}], workers=2, output_dir=tmp_path / "reports", read_only=False)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    (start_a, end_a), (start_n, end_n) = (
        map(float, outputs(o.html.parent / "notebook.ipynb").split()[1:3]) for o in outcomes
    )
    assert start_a < end_n and start_n < end_a


def test_a_batch_with_one_bad_parameter_set_runs_nothing(tmp_path):
    from analysis_lib.batch import parameter_sets, run_batch

    path = notebook(tmp_path, "print(stadsdeel)")
    runs = parameter_sets({"runs": [{"stadsdeel": "A"}, {"stadsdeel": "N", "jaar": "volgend jaar"}]})
    with pytest.raises(ReportError, match="parameter jaar: 'volgend jaar' is not a int"):
        run_batch(path, runs, output_dir=tmp_path / "reports", read_only=False)
    assert not (tmp_path / "reports").exists()
    with pytest.raises(ReportError, match="a grid is either"):
        parameter_sets({"stadsdeel": ["A"]})


def test_a_batch_whose_runs_would_share_a_folder_runs_nothing(tmp_path):
    from analysis_lib.batch import run_batch

    path = notebook(tmp_path, "print(stadsdeel)")
    for runs in ([{"stadsdeel": "A"}, {"jaar": 2024}, {"stadsdeel": "A"}], [{"stadsdeel": "N"}, {"stadsdeel": "n"}]):
        with pytest.raises(ReportError, match=r"runs \d and \d would write the same report folder 'stadsdeel="):
            run_batch(path, runs, output_dir=tmp_path / "reports", read_only=False)
    assert not (tmp_path / "reports").exists()


def test_command_line_batch_prints_the_summary_and_fails_when_a_run_fails(tmp_path):
    path = notebook(tmp_path, "assert stadsdeel != 'T', 'T mislukt'")
    (tmp_path / "grid.yaml").write_text("runs:\n  - stadsdeel: A\n  - stadsdeel: T\n")
    done = subprocess.run(
        [sys.executable, "-m", "analysis_lib", "run-batch", str(path), "--grid", str(tmp_path / "grid.yaml"),
         "--workers", "2", "--output-dir", str(tmp_path / "reports"), "--owner"],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-1] == "runs: 1 ok, 1 failed"
    assert "AssertionError: T mislukt" in done.stdout


def test_runs_in_threads_of_one_process_each_keep_their_own_database_role(tmp_path):
    import os
    import threading

    whoami = notebook(
        tmp_path, "import time, analysis_lib as al\nstarted = time.time()\ntime.sleep(2)",
        "print('user', al.server_info().current_user, 'from', started, 'to', time.time())", parameters=None, name="whoami",
    )
    environment_before = dict(os.environ)
    reports = {}

    def one(read_only: bool) -> None:
        reports[read_only] = run(whoami, output_dir=tmp_path / ("analyst" if read_only else "owner"), read_only=read_only)

    threads = [threading.Thread(target=one, args=(read_only,)) for read_only in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert dict(os.environ) == environment_before
    seen = {read_only: outputs(report.notebook).split() for read_only, report in reports.items()}
    assert seen[True][1] == "analyst"
    assert seen[False][1] == al_owner()
    (start_a, end_a), (start_b, end_b) = ((float(words[3]), float(words[5])) for words in seen.values())
    assert start_a < end_b and start_b < end_a  # the two kernels ran at the same time


def al_owner() -> str:
    import analysis_lib as al

    return al.server_info().current_user


def test_two_notebooks_of_one_name_never_share_a_report_folder(tmp_path):
    (tmp_path / "analyse").mkdir()
    (tmp_path / "notebooks").mkdir()
    first = notebook(tmp_path / "notebooks", "print('first')", parameters=None, name="wijk")
    other = notebook(tmp_path / "analyse", "print('other')", parameters=None, name="wijk")
    reports = tmp_path / "reports"
    run(first, output_dir=reports, read_only=False)
    run(first, output_dir=reports, read_only=False)  # the same notebook again: its own folder
    with pytest.raises(ReportError, match=r"holds the reports of notebooks/wijk\.ipynb, not of analyse/wijk\.ipynb"):
        run(other, output_dir=reports, read_only=False)
    assert "first" in outputs(reports / "wijk" / "defaults" / "notebook.ipynb")
