"""Restarts, rebuilds and new volumes, on a stack of their own: the session's stack, its secrets and
its sample data are left alone, so these tests may run in any order."""

import shutil
import subprocess
import uuid

import pytest
import requests
import sqlalchemy as sa

from stack_control import ROOT, TEST_OUTPUT, ComposeStack


@pytest.fixture(scope="module")
def own_stack(stack):
    own = ComposeStack(
        {**stack.env, "COMPOSE_PROJECT_NAME": f"{stack.env['COMPOSE_PROJECT_NAME']}-restart", "LAB_PORT": "0", "DB_PORT": "0"}
    )
    own.up()
    yield own
    own.down(volumes=True)


def image_id(stack, service: str) -> str:
    image = stack.config()["services"][service]["image"]
    return subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True, check=True).stdout.strip()


def test_data_and_secrets_survive_down_a_lab_rebuild_and_up(own_stack):
    stack = own_stack
    url = stack.database_url()
    password = stack.secret("db_password")
    token = stack.secret("jupyter_token")
    table = f"kept_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (buurt text)"))
        conn.execute(sa.text(f"INSERT INTO {table} VALUES ('AF01')"))
    engine.dispose()

    stack.down(volumes=False)
    before = image_id(stack, "lab")
    stack.compose("build", "--no-cache", "lab")  # every layer made again, as after a dependency change
    assert image_id(stack, "lab") != before
    stack.up()

    assert stack.secret("jupyter_token") == token
    assert stack.secret("db_password") == password  # (its ports are new: this stack publishes on free ones)
    engine = sa.create_engine(stack.database_url().replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT buurt FROM {table}")).scalars().all() == ["AF01"]
    engine.dispose()
    status = requests.get(f"{stack.lab_url()}/api/status", headers={"Authorization": f"token {token}"}, timeout=10)
    assert status.status_code == 200


def test_upgrade_path_moves_the_data_to_a_new_volume_by_backup_and_restore(own_stack):
    """What a move to a new PostgreSQL major does: dump, start on an empty data volume, restore."""
    stack = own_stack
    folder = TEST_OUTPUT / f"upgrade-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    folder.chmod(0o1777)
    try:
        engine = sa.create_engine(stack.database_url().replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE upgraded AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 500) g"))
            before = conn.execute(sa.text("SELECT md5(string_agg(v, '' ORDER BY id)) FROM upgraded")).scalar()
        engine.dispose()
        made = stack.exec("lab", "analysis-lib", "backup", "--dir", str(folder.relative_to(ROOT))).stdout
        dump = made.split("backup written: ", 1)[1].strip()

        stack.down(volumes=True)
        stack.up()
        stack.exec("lab", "analysis-lib", "restore", dump)

        engine = sa.create_engine(stack.database_url().replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT md5(string_agg(v, '' ORDER BY id)) FROM upgraded")).scalar() == before
        engine.dispose()
    finally:
        shutil.rmtree(folder)
