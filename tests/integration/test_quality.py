"""Data-quality checks on a table made messy on purpose, and on a clean one."""

import pytest
import sqlalchemy as sa

import analysis_lib as al
from analysis_lib import quality

MESSY_ROWS = """
    (1, 'a', 1.0, ST_GeomFromText('POINT(121000 487000)', 28992)),
    (2, 'a', 1.0, ST_GeomFromText('POINT(121000 487000)', 28992)),
    (3, NULL, 2.0, ST_GeomFromText('POLYGON((120000 487000, 120010 487010, 120010 487000, 120000 487010, 120000 487000))', 28992)),
    (4, 'b', NULL, NULL),
    (5, 'c', 3.0, ST_GeomFromText('POINT(487000 121000)', 28992)),
    (10, 'd', 3.0, ST_GeomFromText('POLYGON EMPTY', 28992)),
    (12, 'd', 3.0, ST_GeomFromText('POLYGON((120000 487000, 120000 487010, 120010 487000, 120010 487010, 120000 487000))', 28992))
"""


@pytest.fixture
def messy(schema):
    with al.engine().begin() as connection:
        connection.execute(sa.text(
            f"CREATE TABLE {schema}.messy (id int PRIMARY KEY, naam text, waarde float8, geom geometry(Geometry, 28992));"
            f"INSERT INTO {schema}.messy VALUES {MESSY_ROWS};"
            f"CREATE TABLE {schema}.copies AS SELECT naam, waarde FROM {schema}.messy UNION ALL SELECT naam, waarde FROM {schema}.messy;"
        ))
    return schema


def test_every_problem_is_counted_and_the_invalid_rows_are_named(messy):
    report = quality.check_table("messy", schema=messy)
    assert report.rows == 7
    assert dict(zip(report.columns["column"], report.columns["nulls"], strict=True)) == {"id": 0, "naam": 1, "waarde": 1, "geom": 1}
    assert report.duplicate_rows == 0  # rows 1 and 2 differ in their key
    geometry = report.geometry.set_index("column").loc["geom"]
    assert (geometry["srid"], geometry["nulls"], geometry["empty"], geometry["invalid"]) == (28992, 1, 1, 2)
    assert geometry["outside_area_of_use"] == 1  # row 5: x and y swapped
    assert geometry["types"] == "POINT, POLYGON"
    assert geometry["crs"] == "EPSG:28992 Amersfoort / RD New"
    assert geometry["extent"] == (120000.0, 121000.0, 487000.0, 487010.0)
    assert report.invalid_examples["id"].tolist() == ["3", "12"]
    assert report.invalid_examples["reason"].str.startswith("Self-intersection").all()
    summary = report.summary()["result"]
    assert summary["invalid geometries in geom"] == "2"
    assert summary["geometries outside the CRS's area of use in geom"] == "1"
    assert summary["nulls in naam"] == "1 (14.3%)"


def test_duplicate_rows_are_counted_without_a_key(messy):
    report = quality.check_table("copies", schema=messy)
    assert (report.rows, report.duplicate_rows) == (14, 9)  # 5 distinct rows: (a, 1) and (d, 3) twice in messy already
    assert report.geometry.empty and report.invalid_examples.empty


def test_a_table_without_problems_says_so(messy):
    with al.engine().begin() as connection:
        connection.execute(sa.text(f"CREATE TABLE {messy}.clean AS SELECT id, geom FROM {messy}.messy WHERE id IN (1, 2)"))
    summary = quality.check_table("clean", schema=messy).summary()["result"]
    assert summary.to_dict() == {"rows": "2", "findings": "ok: no nulls, duplicates or bad geometries"}


def test_a_missing_table_is_named_with_the_tables_there_are(messy):
    with pytest.raises(quality.TableNotFound) as raised:
        quality.check_table("mesy", schema=messy)
    assert str(raised.value) == f"table {messy}.mesy does not exist or cannot be read; tables in {messy}: copies, messy"


def test_a_table_name_that_is_sql_is_refused_not_run(messy):
    with pytest.raises(al.AnalysisLibError, match="is not allowed"):
        quality.check_table("messy; DROP TABLE messy", schema=messy)
    assert quality.check_table("messy", schema=messy).rows == 7
