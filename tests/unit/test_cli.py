import os
import subprocess
import sys


def run_check(**env_overrides):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "analysis_lib", "check"], env=env, capture_output=True, text=True, timeout=60
    )


def test_check_without_configuration_exits_1_and_says_what_to_set():
    result = run_check()
    assert result.returncode == 1
    assert "analysis-lib check: error: no database configured" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_with_unreachable_server_names_the_target_and_hides_the_password():
    # port 9 (discard) on loopback: nothing listens, the connection is refused at once
    result = run_check(DATABASE_URL="postgresql://ana:s3cret@127.0.0.1:9/gis")
    assert result.returncode == 1
    assert "cannot connect to ana@127.0.0.1:9/gis (DATABASE_URL)" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_console_script_and_module_share_the_parser():
    result = subprocess.run(
        [sys.executable, "-m", "analysis_lib", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "check" in result.stdout
