"""A clone made with Windows' default (core.autocrlf=true) still gives the containers LF scripts."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_windows_style_clone_keeps_every_script_lf(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "-c", "core.autocrlf=true", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "config", "core.autocrlf", "true"], check=True)
    scripts = [path for path in clone.rglob("*") if path.is_file() and ".git" not in path.parts and path.read_bytes()[:2] == b"#!"]
    assert any(path.name == "lab-user" for path in scripts)
    assert [str(path.relative_to(clone)) for path in scripts if b"\r\n" in path.read_bytes()] == []
    texts = [clone / name for name in ("docker-compose.yml", "docker/db/roles.sql", "docker/lab/Dockerfile")]
    assert [str(path) for path in texts if b"\r\n" in path.read_bytes()] == []
