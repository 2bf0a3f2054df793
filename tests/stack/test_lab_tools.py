"""What the lab image brings besides JupyterLab: the named kernel, git with notebook-aware diffs, the
extensions, an optional hashed password."""

import shutil
import subprocess
import time
import uuid

import requests
from jupyter_server.auth import passwd

from stack_control import ROOT, lab_writable_folder


def test_the_default_kernel_is_the_workbench_kernel(stack):
    answer = requests.get(f"{stack.lab_url()}/api/kernelspecs", headers={"Authorization": f"token {stack.secret('jupyter_token')}"}, timeout=10)
    specs = answer.json()
    assert specs["default"] == "python3"
    assert specs["kernelspecs"]["python3"]["spec"]["display_name"] == "Python 3.13 (workbench)"
    assert specs["kernelspecs"]["python3"]["spec"]["argv"][0] == "/opt/venv/bin/python"


def test_lab_and_server_extensions_are_installed_and_enabled(stack):
    listed = stack.exec("lab", "jupyter", "labextension", "list")
    lab = listed.stdout + listed.stderr
    for extension in ("@jupyterlab/git", "nbdime-jupyterlab", "jupyter-leaflet", "@jupyter-widgets/jupyterlab-manager"):
        assert any(extension in line and "enabled" in line and "OK" in line for line in lab.splitlines()), extension
    server = stack.exec("lab", "jupyter", "server", "extension", "list")
    listing = server.stdout + server.stderr
    for extension in ("jupyterlab_git", "nbdime"):
        assert any(line.strip().startswith(extension) and "enabled" in line for line in listing.splitlines()), extension


def test_git_diffs_notebooks_by_cell_with_nbdime(stack):
    script = """
set -e
cd "$(mktemp -d)"
git init -q .
cp /home/lab/work/notebooks/03_data_quality.ipynb report.ipynb
git add report.ipynb
git -c user.name=lab -c user.email=lab@example.invalid commit -qm first
python - <<'EOF'
import json
notebook = json.load(open("report.ipynb"))
code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
code[0]["source"] = "table = 'buurten'  # changed"
json.dump(notebook, open("report.ipynb", "w"))
EOF
git diff
"""
    diff = stack.exec("lab", "bash", "-c", script).stdout
    assert "nbdiff" in diff
    assert "## modified /cells/1/source:" in diff  # by cell, not as a JSON text diff
    assert "table = 'buurten'  # changed" in diff
    assert '"cell_type"' not in diff


def test_git_works_on_the_project_whoever_owns_it(stack):
    assert stack.exec("lab", "git", "config", "--system", "--get-all", "safe.directory").stdout.split() == ["/home/lab/work"]
    if (ROOT / ".git").is_dir():
        assert stack.exec("lab", "git", "-C", "/home/lab/work", "rev-parse", "--is-inside-work-tree").stdout.strip() == "true"


def test_an_optional_hashed_password_opens_the_lab_too(stack):
    """LAB_PASSWORD_HASH (from .env) adds a password next to the token; only its hash is configured."""
    image = stack.config()["services"]["lab"]["image"]
    name = f"lab-password-{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    subprocess.run(
        ["docker", "run", "--detach", "--name", name, "--user", "1000:1000", "--publish", "127.0.0.1::8888", "--env", "JUPYTER_TOKEN_FILE=/tmp/token",
         "--env", f"LAB_PASSWORD_HASH={passwd(password)}", "--entrypoint", "tini", image, "--",
         "bash", "-c", "umask 077; echo token-of-this-test > /tmp/token; exec start-lab"],
        check=True, capture_output=True,
    )
    try:
        port = subprocess.run(["docker", "port", name, "8888"], capture_output=True, text=True, check=True).stdout.split(":")[-1].strip()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{url}/login", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        assert not logs_in(url, "wrong-password")
        assert logs_in(url, password)
        assert logs_in(url, "token-of-this-test")
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True)


def logs_in(url: str, secret: str) -> bool:
    session = requests.Session()
    session.get(f"{url}/login", timeout=10)
    answer = session.post(f"{url}/login", data={"password": secret, "_xsrf": session.cookies.get("_xsrf")}, allow_redirects=False, timeout=10)
    return answer.status_code == 302 and session.get(f"{url}/api/status", timeout=10).status_code == 200


def probe_wheel(folder) -> str:
    """A one-module wheel (the containers have no internet, so nothing comes from PyPI)."""
    import zipfile

    path = folder / "wbprobe-1.0-py3-none-any.whl"
    files = {
        "wbprobe.py": "VALUE = 42\n",
        "wbprobe-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: wbprobe\nVersion: 1.0\n",
        "wbprobe-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files["wbprobe-1.0.dist-info/RECORD"] = "".join(f"{name},,\n" for name in files) + "wbprobe-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
    return path.name


def one_cell_notebook(path, source: str) -> None:
    import json

    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))


def test_pip_install_in_a_notebook_goes_to_the_project_and_survives_a_recreated_container(stack):
    local = ROOT / ".local"
    existed = local.exists()
    try:
        with lab_writable_folder(stack, "pip") as folder:
            relative = folder.relative_to(ROOT)
            one_cell_notebook(folder / "install.ipynb", f"%pip install --no-index --no-deps /home/lab/work/{relative}/{probe_wheel(folder)}")
            one_cell_notebook(folder / "use.ipynb", "import wbprobe\nprint(wbprobe.VALUE, wbprobe.__file__)")
            stack.exec("lab", "analysis-lib", "run", f"{relative}/install.ipynb", "--output-dir", f"{relative}/reports")
            assert "Successfully installed wbprobe-1.0" in (folder / "reports" / "install" / "defaults" / "report.html").read_text()
            stack.compose("up", "--detach", "--wait", "--force-recreate", "lab")
            stack.exec("lab", "analysis-lib", "run", f"{relative}/use.ipynb", "--output-dir", f"{relative}/reports")
            html = (folder / "reports" / "use" / "defaults" / "report.html").read_text()
            assert "42 /home/lab/work/.local/lib/python3.13/site-packages/wbprobe.py" in html
        module = local / "lib" / "python3.13" / "site-packages" / "wbprobe.py"
        assert (module.stat().st_uid, module.stat().st_gid) == (ROOT.stat().st_uid, ROOT.stat().st_gid)
        # the server and the tools do not see it
        hidden = stack.exec("lab", "python", "-c", "import wbprobe", check=False)
        assert hidden.returncode == 1 and "No module named 'wbprobe'" in hidden.stderr
    finally:
        if not existed:
            shutil.rmtree(local, ignore_errors=True)
