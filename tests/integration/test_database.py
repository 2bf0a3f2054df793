import os
import subprocess
import sys

import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import Polygon

import analysis_lib as al


def test_server_is_postgresql_17_with_postgis_3_5():
    info = al.server_info()
    assert info.server_version.startswith("17.")
    assert info.postgis_version.startswith("3.5")


def test_postgis_transforms_rd_new_to_wgs84():
    # The Dam in RD New (EPSG:28992) lies at about 4.893 E, 52.373 N: proves PostGIS has its PROJ data.
    frame = al.read_sql(
        "SELECT ST_X(p) AS lon, ST_Y(p) AS lat"
        " FROM ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 28992), 4326) AS p",
        {"x": 121380, "y": 487380},
    )
    assert frame.loc[0, "lon"] == pytest.approx(4.8930, abs=0.001)
    assert frame.loc[0, "lat"] == pytest.approx(52.3730, abs=0.001)


def test_spatial_join_counts_points_in_polygons():
    frame = al.read_sql(
        """
        SELECT a.name, count(p.*) AS n
        FROM (VALUES ('west', ST_MakeEnvelope(0, 0, 10, 10, 28992)),
                     ('east', ST_MakeEnvelope(10, 0, 20, 10, 28992))) AS a(name, geom)
        LEFT JOIN (SELECT ST_SetSRID(ST_MakePoint(x, 5), 28992) AS geom
                   FROM generate_series(1, 14, 2) AS x) AS p ON ST_Contains(a.geom, p.geom)
        GROUP BY a.name ORDER BY a.name
        """
    )
    assert frame.to_dict("records") == [{"name": "east", "n": 2}, {"name": "west", "n": 5}]


def test_read_geo_round_trip_keeps_geometry_crs_and_attributes(scratch_table):
    polygons = [
        Polygon([(121000, 487000), (121500, 487000), (121500, 487500), (121000, 487000)]),
        Polygon([(119000, 486000), (119000, 486400), (119600, 486400), (119000, 486000)]),
    ]
    with al.engine().begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{scratch_table}" (code text, inwoners int, geom geometry(Polygon, 28992))'))
        conn.execute(
            sa.text(f'INSERT INTO "{scratch_table}" VALUES (:code, :inwoners, ST_GeomFromWKB(:wkb, 28992))'),
            [
                {"code": "AF01", "inwoners": 1250, "wkb": shapely.to_wkb(polygons[0])},
                {"code": "AF02", "inwoners": None, "wkb": shapely.to_wkb(polygons[1])},
            ],
        )
    frame = al.read_geo(f'SELECT code, inwoners, geom FROM "{scratch_table}" ORDER BY code')
    assert frame.crs.to_epsg() == 28992
    assert frame.geometry.name == "geom"
    assert list(frame["code"]) == ["AF01", "AF02"]
    assert frame.loc[0, "inwoners"] == 1250 and frame["inwoners"].isna().tolist() == [False, True]
    assert all(shapely.equals(frame.geometry.to_numpy(), polygons))


def test_read_geo_without_geometry_column_says_so():
    with pytest.raises(al.QueryError, match="no geometry column"):
        al.read_geo("SELECT 1 AS id")


def test_read_geo_refuses_mixed_srids():
    with pytest.raises(al.QueryError, match=r"mixes SRIDs \[4326, 28992\]"):
        al.read_geo(
            "SELECT ST_SetSRID(ST_MakePoint(0, 0), 28992) AS geom"
            " UNION ALL SELECT ST_SetSRID(ST_MakePoint(4.9, 52.4), 4326)"
        )


def test_initdb_scripts_made_the_read_only_analyst_role(scratch_table):
    with al.engine().begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{scratch_table}" (id int)'))
        can = conn.execute(
            sa.text(
                "SELECT has_table_privilege('analyst', :t, 'SELECT'), has_table_privilege('analyst', :t, 'INSERT')"
            ),
            {"t": f'"{scratch_table}"'},
        ).one()
    assert tuple(can) == (True, False)


def run_check(**env):
    return subprocess.run(
        [sys.executable, "-m", "analysis_lib", "check"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_command_reports_versions_and_user():
    result = run_check()
    assert result.returncode == 0, result.stderr
    info = al.server_info()
    assert f"PostGIS     {info.postgis_version}" in result.stdout
    assert f"user        {info.current_user}" in result.stdout


def test_check_command_exits_1_when_postgis_is_missing():
    # The maintenance database exists on every server and has no PostGIS.
    settings = al.load_settings()
    override = (
        {"DATABASE_URL": settings.url.set(drivername="postgresql", database="postgres").render_as_string(False)}
        if settings.source == "DATABASE_URL"
        else {"PGDATABASE": "postgres"}
    )
    result = run_check(**override)
    assert result.returncode == 1
    assert "PostGIS is not installed in database 'postgres'" in result.stderr
