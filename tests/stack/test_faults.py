"""Faults the workbench survives."""

import json
import subprocess
import time

SESSION = """
import sys
import analysis_lib as al
for line in sys.stdin:
    try:
        print("rows", len(al.read_sql("SELECT * FROM generate_series(1, 3)")), "user", al.server_info().current_user, flush=True)
    except Exception as error:
        print("failed", type(error).__name__, error, flush=True)
"""


def wait_healthy(stack, service: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [json.loads(line) for line in stack.compose("ps", "--format", "json", service).stdout.splitlines()]
        if rows and rows[0].get("Health") == "healthy":
            return
        time.sleep(0.5)
    raise AssertionError(f"{service} did not become healthy again")


def test_a_running_session_survives_a_database_restart(stack):
    session = subprocess.Popen(
        ["docker", "compose", "exec", "-T", "lab", "python", "-u", "-c", SESSION],
        cwd=stack.project_dir, env=stack.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        session.stdin.write("query\n")
        session.stdin.flush()
        before = session.stdout.readline()
        assert before.startswith("rows 3 user"), before
        stack.compose("restart", "db")
        wait_healthy(stack, "db")
        session.stdin.write("query\n")
        session.stdin.flush()
        after = session.stdout.readline()
        assert after == before, after  # same process, same engine: no kernel restart needed
    finally:
        session.stdin.close()
        session.wait(timeout=30)
