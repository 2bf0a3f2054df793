"""Drive a docker compose project of the workbench from the host, for the tests.

The tests use a project of their own (name, ports, volumes), so they never touch an analyst's stack.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
# What tests leave behind (ignored by git); not a hidden folder, so the lab may open files in it.
TEST_OUTPUT = ROOT / "tests" / "output"
SECRETS_DIR = "/run/workbench-secrets"


def isolated_environment() -> dict[str, str]:
    """The environment the test project runs with: its own name and ports unless the caller set them."""
    env = dict(os.environ)
    env.setdefault("COMPOSE_PROJECT_NAME", "workbench-test")
    env.setdefault("LAB_PORT", "18888")
    env.setdefault("DB_PORT", "15433")
    if os.getuid() != 0:
        # the lab writes to this checkout as its owner; root (as in CI) keeps the image's default
        env.setdefault("LAB_UID", str(os.getuid()))
        env.setdefault("LAB_GID", str(os.getgid()))
    return env


@dataclass
class ComposeStack:
    env: dict[str, str]
    project_dir: Path = ROOT

    def compose(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["docker", "compose", *args],
            cwd=self.project_dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker compose {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def up(self) -> None:
        try:
            self.compose("up", "--detach", "--wait", "--build")
        except AssertionError as error:
            logs = self.compose("logs", "--no-color", check=False).stdout
            raise AssertionError(f"{error}\n--- logs ---\n{logs}") from None

    def down(self, *, volumes: bool) -> None:
        self.compose("--profile", "cluster", "down", *(["--volumes"] if volumes else []))

    def exec(self, service: str, *command: str, check: bool = True, env: dict[str, str] | None = None, workdir: str | None = None):
        options = [arg for name, value in (env or {}).items() for arg in ("--env", f"{name}={value}")]
        options += ["--workdir", workdir] if workdir else []
        return self.compose("exec", "-T", *options, service, *command, check=check)

    def config(self) -> dict:
        return json.loads(self.compose("config", "--format", "json").stdout)

    def lab_user(self) -> tuple[int, int]:
        uid, gid = self.config()["services"]["lab"]["user"].split(":")
        return int(uid), int(gid)

    def published(self, service: str, port: int) -> str:
        return self.compose("port", service, str(port)).stdout.strip()

    def secret(self, name: str) -> str:
        return self.exec("lab", "cat", f"{SECRETS_DIR}/{name}").stdout

    def database_url(self) -> str:
        env = self.config()["services"]["db"]["environment"]
        password = quote(self.secret("db_password"), safe="")
        return f"postgresql://{env['POSTGRES_USER']}:{password}@{self.published('db', 5432)}/{env['POSTGRES_DB']}"

    def analyst_database_url(self) -> str:
        owner = self.database_url()
        credentials = owner.split("//", 1)[1].split("@", 1)[0]
        return owner.replace(credentials, f"analyst:{quote(self.secret('analyst_password'), safe='')}", 1)

    def lab_url(self) -> str:
        return f"http://{self.published('lab', 8888)}"


@contextlib.contextmanager
def lab_writable_folder(stack: ComposeStack, name: str) -> Iterator[Path]:
    """A new folder in the checkout (so in the lab's bind mount) that the lab's user may write to,
    removed afterwards. A root-owned checkout (CI) is handed to the lab's user, as a host user's
    checkout would be theirs."""
    folder = TEST_OUTPUT / f"{name}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        if os.getuid() == 0:
            uid, gid = stack.lab_user()
            os.chown(folder, uid, gid)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
