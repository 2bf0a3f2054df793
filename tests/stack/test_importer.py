"""The guide's importer: `docker compose run --rm importer` rebuilds a database from the project's
datasets.yml (the sample catalog) as the folder's owner, records where every table came from, and
does nothing the second time."""

import pytest

from stack_control import OTHER_UID

DATABASE = "importer_check"


def psql(stack, sql: str, database: str = DATABASE) -> str:
    return stack.exec("db", "sh", "-c", f'PGPASSWORD="$(cat /run/workbench-secrets/db_password)" psql -h 127.0.0.1'
                      f' -U "$POSTGRES_USER" -d {database} -AtX -v ON_ERROR_STOP=1 -c "$0"', sql).stdout.strip()


def drop_database(stack) -> None:
    """As the superuser (by the container's socket): FORCE also ends an autovacuum worker still in it."""
    stack.exec("db", "psql", "-U", "postgres", "-d", "postgres", "-AtX", "-v", "ON_ERROR_STOP=1",
               "-c", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


@pytest.fixture
def database(stack):
    """A database of its own (from the stack's PostGIS template), so the sample catalog's tables do
    not meet the ones `analysis-lib sample-data` loads for the notebooks."""
    drop_database(stack)
    psql(stack, f"CREATE DATABASE {DATABASE} TEMPLATE template_postgis", "postgres")
    yield DATABASE
    drop_database(stack)


def importer(stack, *command: str):
    return stack.compose("run", "--rm", "-T", "-e", f"PGDATABASE={DATABASE}", "importer", *command, check=False, timeout=600)


def test_the_importer_builds_the_sample_catalog_and_records_its_provenance(stack, database):
    files = importer(stack, "analysis-lib", "sample-data", "--files", "data/raw/sample")
    assert files.returncode == 0, files.stdout + files.stderr
    first = importer(stack)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "7 built" in first.stdout
    assert psql(stack, "SELECT count(*) FROM meldingen") == "20000"
    assert psql(stack, "SELECT count(*) FROM buurten_overzicht") == psql(stack, "SELECT count(*) FROM buurten")
    assert psql(stack, "SELECT sum(meldingen) FROM meldingen_per_buurt_maand") == psql(
        stack, "SELECT count(*) FROM meldingen m JOIN buurten b ON b.code = m.buurt")
    assert psql(stack, "SELECT string_agg(entry, ',' ORDER BY id) FROM catalog.current") == (
        "stadsdelen,wijken,buurten,meldingen,afvalcontainers,meldingen_per_buurt_maand,buurten_overzicht")
    assert psql(stack, "SELECT DISTINCT result || ' ' || db_user FROM catalog.builds") == "succeeded workbench"
    assert psql(stack, "SELECT source_path FROM catalog.current WHERE entry = 'meldingen'") == "data/raw/sample/meldingen.csv"
    owner = stack.compose("run", "--rm", "-T", "importer", "stat", "-c", "%u", "data/raw/sample/meldingen.csv").stdout.strip()
    assert owner == str(OTHER_UID)  # the files belong to the folder's owner, not root
    analyst_reads = stack.exec("db", "sh", "-c", f'PGPASSWORD="$(cat /run/workbench-secrets/analyst_password)" psql -h 127.0.0.1'
                               f" -U analyst -d {DATABASE} -AtX -c 'SELECT count(*) FROM catalog.tables'").stdout.strip()
    assert analyst_reads == "7"
    second = importer(stack)
    assert second.returncode == 0 and "7 up to date" in second.stdout
    status = importer(stack, "analysis-lib", "status")
    assert status.returncode == 0 and "all 7 up to date" in status.stdout
