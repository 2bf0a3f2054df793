"""Secure by default: Jupyter auth, what is exposed, what the images contain, who runs what."""

import os
import re
import shutil
import subprocess
import uuid

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


def test_containers_run_as_non_root_users(stack):
    assert stack.exec("lab", "id", "-u").stdout.strip() != "0"
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
        built = subprocess.run(
            ["docker", "build", "--no-cache", "-t", tag, "-f", "-", str(ROOT)],
            input="FROM debian:trixie-slim\nCOPY . /context\n",
            capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "0"},
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


def test_a_non_default_lab_uid_and_gid_own_what_the_lab_writes(stack):
    remapped = ComposeStack({**stack.env, "LAB_UID": "4321", "LAB_GID": "4322"})
    folder = TEST_OUTPUT / f"uid-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    folder.chmod(0o1777)  # writable for any uid, whoever owns this checkout
    try:
        remapped.up()  # the secrets are handed to the new uid, the lab is recreated with it, and is healthy
        assert remapped.exec("lab", "id", "-u").stdout.strip() == "4321"
        remapped.exec("lab", "touch", f"{folder.relative_to(ROOT)}/made.txt")
        made = (folder / "made.txt").stat()
        assert (made.st_uid, made.st_gid) == (4321, 4322)
    finally:
        stack.up()
        shutil.rmtree(folder)
