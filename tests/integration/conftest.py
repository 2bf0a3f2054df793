import uuid

import pytest
import sqlalchemy as sa

import analysis_lib as al


@pytest.fixture(autouse=True)
def _database(database_env):
    """Every integration test talks to a real PostGIS (see database_env in tests/conftest.py)."""


@pytest.fixture
def scratch_table():
    """A unique table name in public, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    with al.engine().begin() as conn:
        conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))  # a lock left behind fails the test, never hangs it
        conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"'))


@pytest.fixture
def schema():
    """A schema of the test's own, dropped with everything in it afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with al.engine().begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    yield name
    with al.engine().begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
