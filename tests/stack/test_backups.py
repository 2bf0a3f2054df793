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
