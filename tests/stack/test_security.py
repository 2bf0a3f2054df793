"""Secure by default: Jupyter auth, what is exposed, what the images contain, who runs what."""

import json
import os
import re
import shutil
import subprocess
import time
import uuid

import pytest
import requests

from stack_control import ROOT, TEST_OUTPUT, ComposeStack


def test_anonymous_requests_to_the_server_api_and_files_are_refused(stack):
    for path in ("/api/contents", "/api/kernels", "/api/sessions", "/api/contents/README.md"):
        assert requests.get(f"{stack.lab_url()}{path}", timeout=10).status_code == 403, path
    # a page (not the API) sends the browser to the login page instead, without the file
    answer = requests.get(f"{stack.lab_url()}/files/README.md", timeout=10, allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")
    assert "Amsterdam data-analysis workbench" not in answer.text


def test_lab_without_token_shows_the_login_page_not_the_lab(stack):
    answer = requests.get(f"{stack.lab_url()}/lab", timeout=10)
    assert answer.url.startswith(f"{stack.lab_url()}/login")
    assert 'name="password"' in answer.text or "token" in answer.text.lower()
    assert "jupyter-config-data" not in answer.text  # the lab page carries its config; the login page does not


def test_wrong_token_is_refused_and_the_right_one_works(stack):
    token = stack.secret("jupyter_token")
    assert requests.get(f"{stack.lab_url()}/api/contents", params={"token": "x" * len(token)}, timeout=10).status_code == 403
    assert requests.get(f"{stack.lab_url()}/api/contents", params={"token": token}, timeout=10).status_code == 200
    lab = requests.get(f"{stack.lab_url()}/lab", params={"token": token}, timeout=10)
    assert lab.status_code == 200 and "jupyter-config-data" in lab.text


def test_a_browser_session_needs_the_xsrf_token_for_changes(stack):
    session = requests.Session()
    login_page = session.get(f"{stack.lab_url()}/login", timeout=10)
    xsrf = session.cookies.get("_xsrf") or re.search(r'name="_xsrf" value="([^"]+)"', login_page.text).group(1)
    logged_in = session.post(
        f"{stack.lab_url()}/login", data={"password": stack.secret("jupyter_token"), "_xsrf": xsrf}, timeout=10
    )
    assert logged_in.status_code == 200 and "jupyter-config-data" in logged_in.text
    body = {"type": "file", "path": "tests/output/xsrf-probe.txt"}
    refused = session.post(f"{stack.lab_url()}/api/contents", json=body, timeout=10)
    assert refused.status_code == 403
    listed = session.get(f"{stack.lab_url()}/api/contents", headers={"X-XSRFToken": session.cookies["_xsrf"]}, timeout=10)
    assert listed.status_code == 200


def test_database_accepts_only_scram_passwords_from_the_compose_network(stack):
    rules = stack.exec(
        "db", "psql", "-U", "postgres", "-At", "-F", "|", "-c",
        "SELECT type, array_to_string(database, ','), array_to_string(user_name, ','), coalesce(address, ''),"
        " auth_method FROM pg_hba_file_rules WHERE error IS NULL",
    ).stdout.split()
    assert rules, "no pg_hba rules read"
    assert not any(rule.endswith("|trust") for rule in rules)
    assert "host|all|all|samenet|scram-sha-256" in rules
    assert all(rule.startswith("local|") or rule.endswith("|scram-sha-256") for rule in rules)
    method = stack.exec("db", "psql", "-U", "postgres", "-At", "-c", "SHOW password_encryption").stdout.strip()
    assert method == "scram-sha-256"


def run_db_image(stack, *env: str, timeout: float = 60) -> tuple[int | None, str]:
    """Start the db image on a fresh data folder with the stack's secrets and ``env``; its exit code
    (None while it still runs) and its log once it is ready or has stopped."""
    image = stack.config()["services"]["db"]["image"]
    secrets = f"{stack.env['COMPOSE_PROJECT_NAME']}_secrets"
    name = f"db-exposure-{uuid.uuid4().hex[:8]}"
    options = [arg for variable in env for arg in ("--env", variable)]
    subprocess.run(["docker", "run", "--detach", "--name", name, "--volume", f"{secrets}:/run/workbench-secrets:ro",
                    "--volume", f"{name}:/var/lib/postgresql/data", *options, image], check=True, capture_output=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = json.loads(subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout)[0]["State"]
            log = subprocess.run(["docker", "logs", name], capture_output=True, text=True).stderr
            if not state["Running"]:
                return state["ExitCode"], log
            if "database system is ready to accept connections" in log and "listening on IPv4" in log:
                hba = subprocess.run(["docker", "exec", name, "sh", "-c", "cat $PGDATA/pg_hba.conf"], capture_output=True, text=True).stdout
                return None, log + hba
            time.sleep(0.5)
        raise AssertionError(f"the db never became ready:\n{log}")
    finally:
        subprocess.run(["docker", "rm", "--force", "--volumes", name], capture_output=True)
        subprocess.run(["docker", "volume", "rm", name], capture_output=True)


def test_a_database_published_beyond_loopback_admits_only_db_allow_cidr_and_says_so(stack):
    exit_code, log = run_db_image(stack, "DB_BIND=0.0.0.0", "DB_ALLOW_CIDR=10.11.0.0/16,192.168.5.0/24")
    assert exit_code is None, log
    assert "WARNING: the database is published on 0.0.0.0; clients from 10.11.0.0/16,192.168.5.0/24 may log in with a password" in log
    assert "host  all all       10.11.0.0/16     scram-sha-256" in log and "host  all all       192.168.5.0/24     scram-sha-256" in log
    exit_code, log = run_db_image(stack, "DB_BIND=0.0.0.0")
    assert exit_code is None and "no DB_ALLOW_CIDR says who may log in from the network: only this machine can" in log
    assert "10.11.0.0" not in log
    exit_code, log = run_db_image(stack, "DB_BIND=0.0.0.0", "DB_ALLOW_CIDR=everyone")
    assert exit_code == 1 and "DB_ALLOW_CIDR: 'everyone' is not an address range such as 192.168.1.0/24" in log


def test_containers_run_as_non_root_users(stack):
    assert "0" not in stack.process_users("lab")
    assert stack.exec("lab", "as-lab-user", "id", "-u").stdout.strip() != "0"
    assert stack.exec("lab", "python", "-c", "import os; print(os.getuid())").stdout.strip() != "0"  # exec'd programs too
    assert stack.exec("db", "id", "-un").stdout.strip() == "postgres"
    server = stack.exec("db", "psql", "-U", "postgres", "-At", "-c", "SELECT pg_backend_pid()").stdout.strip()
    assert server.isdigit()


def image_names(stack) -> list[str]:
    services = stack.config()["services"]
    return sorted({services[name]["image"] for name in ("lab", "db")})


def test_no_generated_secret_is_in_any_image_layer_or_file(stack):
    secrets = [stack.secret("jupyter_token"), stack.secret("db_password")]
    for image in image_names(stack):
        history = subprocess.run(["docker", "history", "--no-trunc", image], capture_output=True, text=True, check=True).stdout
        inspect = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True, check=True).stdout
        for secret in secrets:
            assert secret not in history and secret not in inspect, image
        # grep the whole image filesystem (the secrets volume is not mounted in a bare container)
        found = subprocess.run(
            ["docker", "run", "--rm", "--user", "0", "--entrypoint", "grep", image,
             "-rlsF", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev", "-e", secrets[0], "-e", secrets[1], "/"],
            capture_output=True, text=True,
        )
        assert found.returncode == 1 and found.stdout == "", f"{image}: {found.stdout}"


def test_env_file_and_data_never_enter_the_build_context():
    created = []
    for path in (ROOT / ".env", ROOT / "data" / "planted.csv"):
        if not path.exists():  # a developer's own .env stays as it is; the check below holds either way
            path.parent.mkdir(exist_ok=True)
            path.write_text("PLANTED=1\n")
            created.append(path)
    tag = f"workbench-context-probe:{uuid.uuid4().hex[:8]}"
    try:
        # BuildKit, as compose builds the images (Debian's client: the 28.x one has no buildx)
        built = subprocess.run(
            ["/usr/bin/docker", "build", "--no-cache", "-t", tag, "-f", "-", str(ROOT)],
            input="FROM debian:trixie-slim\nCOPY . /context\n",
            capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "1"},
        )
        assert built.returncode == 0, built.stderr[-2000:]
        listing = subprocess.run(
            ["docker", "run", "--rm", tag, "find", "/context", "-type", "f"], capture_output=True, text=True, check=True
        ).stdout.split()
        assert "/context/.env" not in listing
        assert not any(f.startswith(("/context/data/", "/context/.git/", "/context/.venv/", "/context/tests/")) for f in listing)
        assert "/context/requirements.lock" in listing and "/context/docker/lab/Dockerfile" in listing
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)
        for path in created:
            path.unlink()
        if (ROOT / "data").exists() and not any((ROOT / "data").iterdir()):
            (ROOT / "data").rmdir()


def test_the_analyst_role_reads_every_schema_made_after_it_and_changes_nothing(stack):
    import psycopg

    owner_url = stack.database_url()
    analyst_url = stack.analyst_database_url()
    schema = f"wijk_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(owner_url, autocommit=True) as owner:
        owner.execute(f"CREATE SCHEMA {schema}")  # by hand, in psql's way
        owner.execute(f"CREATE TABLE {schema}.made_by_hand (buurt text)")
        owner.execute(f"INSERT INTO {schema}.made_by_hand VALUES ('AF01')")
        owner.execute("CREATE TABLE public.later_table (buurt text)")
    try:
        stack.exec("lab", "python", "-c", "import analysis_lib as al, pandas as pd;"
                   f" al.load(pd.DataFrame({{'buurt': ['AF02']}}), 'loaded', schema='{schema}')")
        with psycopg.connect(analyst_url, autocommit=True) as analyst:
            assert analyst.execute(f"SELECT buurt FROM {schema}.made_by_hand").fetchall() == [("AF01",)]
            assert analyst.execute(f"SELECT buurt FROM {schema}.loaded").fetchall() == [("AF02",)]
            assert analyst.execute("SELECT count(*) FROM public.later_table").fetchall() == [(0,)]
            for statement in (
                f"INSERT INTO {schema}.made_by_hand VALUES ('AF02')",
                f"UPDATE {schema}.made_by_hand SET buurt = 'X'",
                f"DELETE FROM {schema}.loaded",
                "CREATE TABLE mine (id int)",
                f"CREATE TABLE {schema}.mine (id int)",
                f"DROP TABLE {schema}.made_by_hand",
                "CREATE SCHEMA mine",
                "CREATE TEMP TABLE mine (id int)",
                "SELECT lo_from_bytea(0, 'x')",  # a large object the owner cannot read would stop pg_dump
                "SELECT lo_create(0)",
            ):
                try:
                    analyst.execute(statement)
                except psycopg.errors.InsufficientPrivilege:
                    continue
                raise AssertionError(f"the analyst could run: {statement}")
    finally:
        with psycopg.connect(owner_url, autocommit=True) as owner:
            owner.execute(f"DROP SCHEMA {schema} CASCADE")
            owner.execute("DROP TABLE public.later_table")


def test_in_the_lab_pguser_analyst_connects_read_only_with_no_password_typed(stack):
    checked = stack.exec("lab", "analysis-lib", "check", env={"PGUSER": "analyst"})
    assert "user        analyst" in checked.stdout
    refused = stack.exec("lab", "psql", "-c", "CREATE TABLE nope (id int)", env={"PGUSER": "analyst"}, check=False)
    assert refused.returncode != 0 and "permission denied" in refused.stderr


def test_a_lab_uid_that_cannot_write_the_project_folder_says_so_with_its_fix(stack):
    remapped = ComposeStack({**stack.env, "LAB_UID": "4321", "LAB_GID": "4322"})
    owner = f"{ROOT.stat().st_uid}:{ROOT.stat().st_gid}"
    folder = TEST_OUTPUT / f"uid-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    folder.chmod(0o1777)  # writable for any uid, whoever owns this checkout
    try:
        remapped.compose("up", "--detach", "lab")
        problem = wait_for_problem(remapped)
        assert f"belongs to uid:gid {owner} and the lab, running as 4321:4322, cannot write to it." in problem
        assert f"Remove LAB_UID/LAB_GID from .env, or set them to {owner}" in problem
        checked = remapped.exec("lab", "analysis-lib", "check", check=False)
        assert checked.returncode == 1 and "problem: the project folder" in checked.stderr
        assert "cannot write to it" in wait_for_health_output(remapped)
        # where it may write, what it writes is the configured user's
        remapped.exec("lab", "analysis-lib", "sample-data", "--files", f"{folder.relative_to(ROOT)}/data")
        made = next((folder / "data").iterdir()).stat()
        assert (made.st_uid, made.st_gid) == (4321, 4322)
    finally:
        stack.up()
        shutil.rmtree(folder)


def test_a_project_folder_that_root_owns_gets_the_fix_and_nothing_runs_as_root(stack, tmp_path):
    if os.getuid() != 0:
        pytest.skip("making a folder that root owns needs root")
    project = tmp_path / "root-owned-project"
    project.mkdir(mode=0o777)  # even writable for everyone: what the lab wrote there would not be the owner's
    project.chmod(0o777)
    shutil.copy(ROOT / "docker-compose.yml", project)  # the images are built already
    rooted = ComposeStack(
        {**stack.env, "COMPOSE_PROJECT_NAME": f"{stack.env['COMPOSE_PROJECT_NAME']}-rooted", "LAB_PORT": "0", "DB_PORT": "0"},
        project_dir=project,
    )
    try:
        rooted.compose("up", "--detach", "lab")
        problem = wait_for_problem(rooted)
        assert "belongs to root, and the lab never runs as root: it runs as 1000:1000" in problem
        assert "sudo chown -R $(id -u):$(id -g) <the project folder> (or clone it again as yourself, not as root)" in problem
        assert "0" not in rooted.process_users("lab")
        assert "belongs to root" in wait_for_health_output(rooted)
    finally:
        rooted.compose("down", "--volumes", check=False)


@pytest.mark.parametrize(("uid", "gid", "runs_as"), [("00", "0", "1000:1000"), ("4294967295", "5", None), ("1234", "100", "1234:100")])
def test_lab_uid_and_gid_can_never_make_the_lab_root(stack, uid, gid, runs_as):
    """Numbers that mean root (00), 'no change' (2^32 - 1) or group root are refused or replaced; an
    existing group (100, users) is the group of what exec'd programs write too."""
    image = stack.config()["services"]["lab"]["image"]
    environment = ["--env", f"LAB_UID={uid}", "--env", f"LAB_GID={gid}"]
    if runs_as is None:
        refused = subprocess.run(["docker", "run", "--rm", *environment, image, "true"], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "ids go up to 4294967294" in refused.stderr
        return
    name = f"lab-ids-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "run", "--detach", "--name", name, *environment, image, "sleep", "120"], check=True, capture_output=True)
    try:
        for _ in range(50):  # until the entrypoint has exec'd sleep
            listed = subprocess.run(["/usr/bin/docker", "top", name, "-eo", "pid,uid,gid,comm"], capture_output=True, text=True).stdout
            if "sleep" in listed:
                break
            time.sleep(0.1)
        assert {tuple(line.split()[1:3]) for line in listed.splitlines()[1:]} == {tuple(runs_as.split(":"))}, listed  # tini, sleep
        exec_ids = subprocess.run(["docker", "exec", name, "as-lab-user", "sh", "-c", "echo $(id -u):$(id -g)"],
                                  capture_output=True, text=True, check=True).stdout.strip()
        assert exec_ids == runs_as
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True)


def wait_for_problem(stack: ComposeStack, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in stack.compose("logs", "--no-color", "lab").stdout.splitlines():
            if "start-lab: PROBLEM: " in line:
                return line.split("start-lab: PROBLEM: ", 1)[1]
        time.sleep(1)
    raise AssertionError("the lab never logged its problem\n" + stack.compose("logs", "--no-color", "lab").stdout)


def wait_for_health_output(stack: ComposeStack, timeout: float = 60) -> str:
    container = stack.compose("ps", "--quiet", "lab").stdout.strip()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inspected = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True)
        health = json.loads(inspected.stdout)[0]["State"].get("Health") or {}
        if health.get("Log"):
            return health["Log"][-1]["Output"]
        time.sleep(1)
    raise AssertionError("the lab's healthcheck never ran")