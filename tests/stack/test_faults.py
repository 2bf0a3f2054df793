"""Faults the workbench survives."""

import json
import queue
import subprocess
import threading
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


def line_within(session: subprocess.Popen, timeout: float = 60) -> str:
    """The session's next line of output, or a failure after ``timeout`` seconds (never a hang)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(session.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        session.kill()
        raise AssertionError(f"no answer from the session within {timeout} s") from None


def test_a_running_session_survives_a_database_restart(stack):
    session = subprocess.Popen(
        ["docker", "compose", "exec", "-T", "lab", "python", "-u", "-c", SESSION],
        cwd=stack.project_dir, env=stack.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        session.stdin.write("query\n")
        session.stdin.flush()
        before = line_within(session)
        assert before.startswith("rows 3 user"), before
        stack.compose("restart", "db")
        wait_healthy(stack, "db")
        session.stdin.write("query\n")
        session.stdin.flush()
        after = line_within(session)
        assert after == before, after  # same process, same engine: no kernel restart needed
    finally:
        session.stdin.close()
        session.wait(timeout=30)
