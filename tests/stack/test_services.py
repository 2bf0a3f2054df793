"""The compose stack as a whole, driven from the host with the docker CLI."""

import json
import os
import subprocess
import time
import uuid

import requests

from stack_control import OTHER_UID, ROOT, lab_writable_folder


def service_states(stack):
    rows = [json.loads(line) for line in stack.compose("ps", "--all", "--format", "json").stdout.splitlines()]
    return {row["Service"]: row for row in rows}


def test_up_wait_leaves_db_and_lab_healthy_and_secrets_done(stack):
    states = service_states(stack)
    assert states["db"]["Health"] == "healthy"
    assert states["lab"]["Health"] == "healthy"
    assert states["secrets"]["State"] == "exited" and states["secrets"]["ExitCode"] == 0


def test_ports_are_published_on_loopback_only(stack):
    assert stack.published("lab", 8888).startswith("127.0.0.1:")
    assert stack.published("db", 5432).startswith("127.0.0.1:")


def test_api_status_needs_the_token(stack):
    url = f"{stack.lab_url()}/api/status"
    token = stack.secret("jupyter_token")
    assert requests.get(url, timeout=10).status_code == 403
    assert requests.get(url, headers={"Authorization": "token wrong-token"}, timeout=10).status_code == 403
    answer = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=10)
    assert answer.status_code == 200
    assert "started" in answer.json()


def test_lab_log_prints_the_full_url_with_token(stack):
    logs = stack.compose("logs", "--no-color", "lab").stdout
    token = stack.secret("jupyter_token")
    assert len(token) >= 32
    assert f"{stack.lab_url()}/lab?token={token}" in logs


def test_the_lab_runs_as_the_owner_of_the_project_folder_and_nothing_as_root(stack):
    owner = ROOT.stat()
    if os.getuid() == 0:
        assert owner.st_uid == OTHER_UID  # CI's root checkout is mounted as a copy of another user's
    assert stack.lab_user() == (owner.st_uid, owner.st_gid) != (0, 0)
    assert set(stack.process_users("lab")) == {str(owner.st_uid)}  # tini, Jupyter and every kernel


def test_what_the_lab_writes_belongs_to_the_folder_owner_notebooks_saved_and_reports_run(stack):
    """The day-one path: a notebook saved through Jupyter's API, a report run with the documented
    command; both owned by whoever owns the project folder, with no .env."""
    owner = (ROOT.stat().st_uid, ROOT.stat().st_gid)
    with lab_writable_folder(stack, "ownership") as folder:
        relative = folder.relative_to(ROOT)
        notebook = {
            "type": "notebook", "format": "json",
            "content": {
                "cells": [{"cell_type": "code", "source": "print(6 * 7)", "metadata": {}, "outputs": [], "execution_count": None}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5,
            },
        }
        token = stack.secret("jupyter_token")
        saved = requests.put(
            f"{stack.lab_url()}/api/contents/{relative}/saved.ipynb", json=notebook,
            headers={"Authorization": f"token {token}"}, timeout=30,
        )
        assert saved.status_code in (200, 201), saved.text
        stack.exec("lab", "analysis-lib", "run", f"{relative}/saved.ipynb", "--output-dir", f"{relative}/reports")
        report = folder / "reports" / "saved" / "defaults" / "report.html"
        assert "42" in report.read_text()
        for path in (folder / "saved.ipynb", report, report.parent):
            assert (path.stat().st_uid, path.stat().st_gid) == owner, path


def test_getting_started_notebook_runs_headless_with_papermill(stack):
    stack.exec("lab", "papermill", "--log-level", "WARNING", "notebooks/00_getting_started.ipynb", "/tmp/getting_started.ipynb")
    notebook = json.loads(stack.exec("lab", "cat", "/tmp/getting_started.ipynb").stdout)
    outputs = [output for cell in notebook["cells"] if cell["cell_type"] == "code" for output in cell["outputs"]]
    text = "".join("".join(output.get("text", "")) for output in outputs)
    assert "PostGIS 3.5" in text
    assert "EPSG:28992" in text
    assert any("image/png" in output.get("data", {}) for output in outputs), "the map was not drawn"


def test_library_tests_pass_inside_the_lab_container_on_its_python(stack):
    version = stack.exec("lab", "python", "-c", "import sys; print(sys.version_info[:2])").stdout.strip()
    assert version == "(3, 13)"
    result = stack.exec(
        "lab", "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit", "tests/integration", check=False
    )
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_lab_healthcheck_follows_another_port_and_base_url_and_a_wide_bind_is_warned_about(stack):
    image = stack.config()["services"]["lab"]["image"]
    name = f"lab-health-{uuid.uuid4().hex[:8]}"
    script = "umask 077; echo token-for-this-test > /tmp/token; exec start-lab --ServerApp.port=9999"
    subprocess.run(
        ["docker", "run", "--detach", "--name", name, "--user", "1000:1000", "--env", "JUPYTER_TOKEN_FILE=/tmp/token",
         "--env", "LAB_BASE_URL=/analysis/", "--env", "LAB_BIND=0.0.0.0", "--entrypoint", "tini", image, "--", "bash", "-c", script],
        check=True, capture_output=True,
    )
    try:
        deadline = time.monotonic() + 90
        while (health := container_health(name)) == "starting" and time.monotonic() < deadline:
            time.sleep(1)
        log = subprocess.run(["docker", "logs", name], capture_output=True, text=True).stderr
        assert health == "healthy", log
        assert "start-lab: WARNING: the lab is published on 0.0.0.0 and serves plain HTTP" in log
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True)


def container_health(name: str) -> str:
    return subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Health.Status}}", name], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_lab_settings_are_kept_in_the_project_folder(stack):
    """What the settings editor saves outlives the container: it is written into the project."""
    token = stack.secret("jupyter_token")
    theme = "@jupyterlab/apputils-extension:themes"
    settings = ROOT / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    before = settings.read_text() if settings.exists() else None
    saved = requests.put(
        f"{stack.lab_url()}/lab/api/settings/{theme}", json={"raw": '{"theme": "JupyterLab Dark"}'},
        headers={"Authorization": f"token {token}"}, timeout=30,
    )
    try:
        assert saved.status_code == 204, saved.text
        assert "JupyterLab Dark" in settings.read_text()
        assert (settings.stat().st_uid, settings.stat().st_gid) == (ROOT.stat().st_uid, ROOT.stat().st_gid)
    finally:
        if before is None:
            settings.unlink(missing_ok=True)
        else:
            settings.write_text(before)


def test_postgresql_runs_with_the_memory_settings_compose_gives_it(stack):
    shown = stack.exec("db", "psql", "-U", "postgres", "-At", "-c",
                       "SELECT current_setting('shared_buffers'), current_setting('work_mem'), current_setting('effective_cache_size')")
    assert shown.stdout.strip() == "512MB|64MB|2GB"
