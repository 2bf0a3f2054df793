"""The committed notebooks follow the output policy the pre-commit hook enforces: outputs kept,
run-to-run noise stripped."""

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def hook_command() -> list[str]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (hook,) = [hook for repo in config["repos"] for hook in repo["hooks"] if hook["id"] == "notebook-noise"]
    command = shlex.split(hook["entry"])
    return [str(Path(sys.executable).parent / command[0]), *command[1:]]


def test_committed_notebooks_are_already_stripped_of_noise(tmp_path):
    copies = [shutil.copy(notebook, tmp_path) for notebook in NOTEBOOKS]  # nbstripout opens files for writing, even to verify
    result = subprocess.run([*hook_command(), "--verify", *map(str, copies)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_hook_keeps_outputs_and_strips_timings(tmp_path):
    notebook = json.loads((ROOT / "notebooks" / "02_district_report.ipynb").read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell["outputs"] for cell in code[1:]), "every cell after the parameters has committed outputs"
    code[0]["metadata"]["execution"] = {"iopub.status.busy": "2026-11-26T13:46:50Z"}
    notebook["metadata"]["papermill"] = {"duration": 4.2}
    noisy = tmp_path / "noisy.ipynb"
    noisy.write_text(json.dumps(notebook))
    assert subprocess.run([*hook_command(), "--verify", str(noisy)], capture_output=True).returncode != 0
    subprocess.run([*hook_command(), str(noisy)], check=True)
    cleaned = json.loads(noisy.read_text())
    assert "papermill" not in cleaned["metadata"]
    cleaned_code = [cell for cell in cleaned["cells"] if cell["cell_type"] == "code"]
    assert "execution" not in cleaned_code[0]["metadata"]
    # outputs and execution counts stay: nbval compares the one and needs the other
    assert [cell["outputs"] for cell in cleaned_code] == [cell["outputs"] for cell in code]
    assert [cell["execution_count"] for cell in cleaned_code] == [cell["execution_count"] for cell in code]
