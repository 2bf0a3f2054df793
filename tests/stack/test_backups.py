"""Backups and restores, run in the lab container (its pg_dump matches the server)."""

import geopandas as gpd
import pandas as pd
import psycopg
import shapely

import analysis_lib as al

TABLES = ("bk_buurten", "bk_meldingen")


def checksums(url: str) -> dict[str, tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), '')) FROM {table} t"
            ).fetchone()
            for table in TABLES
        }


def test_backup_drop_restore_gives_back_identical_tables(stack, database_env):
    url = stack.database_url()
    buurten = gpd.GeoDataFrame(
        {"code": ["AF01", "AF02"], "naam": ["Café 't Hoekje", "IJplein"]},
        geometry=[shapely.box(121000, 487000, 121400, 487400), shapely.box(121500, 487000, 121900, 487400)],
        crs="EPSG:28992",
    )
    al.load(buurten, "bk_buurten", if_exists="replace", primary_key="code")
    al.load(pd.DataFrame({"id": range(1000), "status": ["open", "gesloten"] * 500}), "bk_meldingen", if_exists="replace")
    before = checksums(url)

    for _ in range(3):
        made = stack.exec("lab", "analysis-lib", "backup", "--dir", "/tmp/backups", "--keep", "2")
        assert made.stdout.startswith("backup written: /tmp/backups/")
    dumps = sorted(stack.exec("lab", "ls", "/tmp/backups").stdout.split())
    assert len(dumps) == 2 and all(name.endswith(".dump") for name in dumps)
    latest = f"/tmp/backups/{dumps[-1]}"

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE bk_buurten, bk_meldingen")
        conn.execute("CREATE TABLE bk_other (id int)")  # the database is not empty: a restore must ask
    try:
        refused = stack.exec("lab", "analysis-lib", "restore", latest, check=False)
        assert refused.returncode == 1 and "pass force=True (--force) to overwrite them" in refused.stderr
        stack.exec("lab", "analysis-lib", "restore", latest, "--force")
        assert checksums(url) == before

        copied = stack.exec("lab", "analysis-lib", "restore", latest, "--database", "bk_copy")
        assert "into database bk_copy" in copied.stdout
        assert checksums(url.rsplit("/", 1)[0] + "/bk_copy") == before
        again = stack.exec("lab", "analysis-lib", "restore", latest, "--database", "bk_copy", check=False)
        assert again.returncode == 1 and "database bk_copy already has" in again.stderr
        not_a_dump = stack.exec("lab", "analysis-lib", "restore", "/etc/hostname", check=False)
        assert not_a_dump.returncode == 1 and "is not a pg_dump custom-format backup" in not_a_dump.stderr
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS bk_other, bk_buurten, bk_meldingen")
            conn.execute("DROP DATABASE IF EXISTS bk_copy")


def test_rotation_deletes_only_the_dumps_backup_wrote(stack):
    stack.exec("lab", "as-lab-user", "sh", "-c", "rm -rf /tmp/rotation && mkdir /tmp/rotation && cd /tmp/rotation"
               " && echo mine > my-own.dump && echo notes > notes.txt && echo old > 20200101T000000000000Z.dump")
    for _ in range(2):
        stack.exec("lab", "analysis-lib", "backup", "--dir", "/tmp/rotation", "--keep", "1")
    left = sorted(stack.exec("lab", "ls", "/tmp/rotation").stdout.split())
    assert "my-own.dump" in left and "notes.txt" in left
    own = [name for name in left if name not in ("my-own.dump", "notes.txt")]
    assert len(own) == 1 and own[0] > "2021" and own[0].endswith("Z.dump")  # the 2020 one and the first of today went


# A backup under DATABASE_URL whose pg_dump is held up by a lock, so that its command line and
# environment can be read while it runs.
WATCH_PG_DUMP = r"""
import os, pathlib, threading, time, urllib.parse
import psycopg
from analysis_lib.backup import backup

password = os.environ.pop("OWNER_PASSWORD")
os.environ["DATABASE_URL"] = f"postgresql://{os.environ['PGUSER']}:{urllib.parse.quote(password, safe='')}@db:5432/{os.environ['PGDATABASE']}"
with psycopg.connect(os.environ["DATABASE_URL"]) as holder:
    holder.execute("CREATE TABLE IF NOT EXISTS bk_held (id int)")
    holder.commit()
    holder.execute("LOCK TABLE bk_held IN ACCESS EXCLUSIVE MODE")
    backup = threading.Thread(target=backup, args=("/tmp/argv-check",))
    backup.start()
    for _ in range(200):
        found = [p for p in pathlib.Path("/proc").iterdir() if p.name.isdigit() and (p / "comm").read_text().strip() == "pg_dump"]
        if found:
            break
        time.sleep(0.05)
    assert found, "pg_dump never started"
    time.sleep(0.3)
    argv = (found[0] / "cmdline").read_bytes().decode()
    environ = (found[0] / "environ").read_bytes().decode()
    print("argv holds the password:", password in argv)
    print("environment holds the password:", password in environ)
    passfile = next(v for v in environ.split("\0") if v.startswith("PGPASSFILE=")).split("=", 1)[1]
    print("password file:", passfile.startswith("/tmp/analysis-lib-") and passfile.endswith("/pgpass"))
    holder.rollback()
    backup.join(60)
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    conn.execute("DROP TABLE bk_held")
print("dumps:", len(list(pathlib.Path("/tmp/argv-check").glob("*.dump"))))
"""


def test_pg_dump_gets_the_password_from_a_file_never_from_its_command_line(stack):
    # the lab's own password file out of the way: pg_dump can only have logged in with its private one
    seen = stack.exec("lab", "python", "-c", WATCH_PG_DUMP,
                      env={"OWNER_PASSWORD": stack.secret("db_password"), "PGPASSFILE": "/nonexistent"}).stdout
    assert "argv holds the password: False" in seen
    assert "environment holds the password: False" in seen
    assert "password file: True" in seen
    assert "dumps: 1" in seen
