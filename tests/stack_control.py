"""Drive a docker compose project of the workbench from the host, for the tests.

The tests use a project of their own (name, ports, volumes), so they never touch an analyst's stack.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

CHECKOUT = Path(__file__).resolve().parent.parent
# A user other than the image's default (1000), owning the project folder the stack mounts when the
# checkout belongs to root (as in CI), which the lab can never write to: it never runs as root.
OTHER_UID = 1001


def _needs_a_copy() -> bool:
    return os.getuid() == 0 and CHECKOUT.stat().st_uid == 0


def _project_folder() -> Path:
    """The folder the test stack mounts as the lab's project: this checkout, or when root owns it
    (CI), a copy of its files that uid 1001 owns (see make_project_folder), one per compose project."""
    if not _needs_a_copy():
        return CHECKOUT
    project = os.environ.get("COMPOSE_PROJECT_NAME", DEFAULT_PROJECT_NAME)
    return Path(tempfile.gettempdir()) / f"{project}-project"


def make_project_folder() -> None:
    """Copy this checkout's files (tracked and untracked, not ignored) to ROOT when ROOT is a copy;
    made when the stack starts, so that a test run without the stack never touches a running one."""
    if ROOT == CHECKOUT:
        return
    if ROOT.is_symlink() or (ROOT.exists() and ROOT.stat().st_uid not in (0, OTHER_UID)):
        raise AssertionError(f"{ROOT} exists and is not a copy this harness made: remove it")
    if ROOT.exists():
        shutil.rmtree(ROOT)
    ROOT.mkdir(mode=0o755)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=CHECKOUT, capture_output=True, check=True
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = CHECKOUT / name
        if source.is_file():
            (ROOT / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, ROOT / name)
    for folder, folders, files in os.walk(ROOT):  # only what was made above: regular files and folders
        for path in [folder, *(os.path.join(folder, name) for name in folders + files)]:
            os.chown(path, OTHER_UID, OTHER_UID, follow_symlinks=False)


def remove_project_folder() -> None:
    if ROOT != CHECKOUT:
        shutil.rmtree(ROOT, ignore_errors=True)


DEFAULT_PROJECT_NAME = "workbench-test"
ROOT = _project_folder()
# What tests leave behind (ignored by git); not a hidden folder, so the lab may open files in it.
TEST_OUTPUT = ROOT / "tests" / "output"
SECRETS_DIR = "/run/workbench-secrets"


def isolated_environment() -> dict[str, str]:
    """The environment the test project runs with: its own name and ports unless the caller set them."""
    env = dict(os.environ)
    env.setdefault("COMPOSE_PROJECT_NAME", DEFAULT_PROJECT_NAME)
    env.setdefault("LAB_PORT", "18888")
    env.setdefault("DB_PORT", "15433")
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
        """The uid and gid the lab runs as (its entrypoint decides, from the project folder's owner)."""
        uid = self.exec("lab", "as-lab-user", "id", "-u").stdout.strip()
        gid = self.exec("lab", "as-lab-user", "id", "-g").stdout.strip()
        return int(uid), int(gid)

    def process_users(self, service: str) -> list[str]:
        """The user of every process running in ``service``'s container, as the host's ps shows it."""
        container = self.compose("ps", "--quiet", service).stdout.strip()
        # Debian's client: the 28.x one at /usr/local/bin takes ps's options for its own
        listed = subprocess.run(["/usr/bin/docker", "top", container, "-eo", "pid,uid,comm"], capture_output=True, text=True, check=True)
        return [line.split()[1] for line in listed.stdout.splitlines()[1:] if line.strip()]

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
    removed afterwards. Made by root (CI), it is handed to the project folder's owner, as a host
    user's own folder would be theirs."""
    folder = TEST_OUTPUT / f"{name}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        if os.getuid() == 0:
            os.chown(folder, stack.project_dir.stat().st_uid, stack.project_dir.stat().st_gid)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
