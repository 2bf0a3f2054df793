"""Restarts the stack, so it runs last (file name) and leaves the stack up for nothing after it."""

import uuid

import requests
import sqlalchemy as sa


def test_data_and_secrets_survive_down_and_up(stack):
    url = stack.database_url()
    token = stack.secret("jupyter_token")
    table = f"kept_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (buurt text)"))
        conn.execute(sa.text(f"INSERT INTO {table} VALUES ('AF01')"))
    engine.dispose()

    stack.down(volumes=False)
    stack.up()

    assert stack.secret("jupyter_token") == token
    assert stack.database_url() == url
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT buurt FROM {table}")).scalars().all() == ["AF01"]
    engine.dispose()
    status = requests.get(f"{stack.lab_url()}/api/status", headers={"Authorization": f"token {token}"}, timeout=10)
    assert status.status_code == 200
