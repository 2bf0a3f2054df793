"""read(): every column of a join kept, every geometry column with its own CRS, parameters checked."""

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import analysis_lib as al


@pytest.fixture
def buurten_and_meldingen(schema):
    al.load(
        gpd.GeoDataFrame({"id": [1, 2], "naam": ["Dam", "IJplein"]}, geometry=[shapely.box(121000, 487000, 121010, 487010), shapely.box(121010, 487000, 121020, 487010)], crs=28992).rename_geometry("geom"),
        "buurten", schema=schema,
    )
    al.load(
        gpd.GeoDataFrame({"id": [7, 8, 9], "jaar": [2023, 2024, 2024]}, geometry=shapely.points([(121001, 487001), (121002, 487002), (121015, 487005)]), crs=28992).rename_geometry("geom"),
        "meldingen", schema=schema,
    )
    return schema


def test_a_self_join_keeps_both_id_columns_and_says_so(buurten_and_meldingen):
    schema = buurten_and_meldingen
    with pytest.warns(UserWarning, match=r"id -> id_2"):
        frame = al.read(f"SELECT a.id, b.id FROM {schema}.buurten a JOIN {schema}.buurten b ON a.id < b.id")
    assert list(frame.columns) == ["id", "id_2"]
    assert frame.iloc[0].tolist() == [1, 2]


def test_select_star_over_a_spatial_join_keeps_both_geometries_with_their_crs(buurten_and_meldingen):
    schema = buurten_and_meldingen
    with pytest.warns(UserWarning, match=r"geom -> geom_2"):
        frame = al.read(
            f"SELECT * FROM {schema}.meldingen m JOIN {schema}.buurten b ON ST_Within(m.geom, b.geom) ORDER BY m.id"
        )
    assert list(frame.columns) == ["id", "jaar", "geom", "id_2", "naam", "geom_2"]
    assert frame.geometry.name == "geom" and frame.geometry.geom_type.tolist() == ["Point"] * 3
    assert frame["geom_2"].geom_type.tolist() == ["Polygon"] * 3 and frame["geom_2"].crs.to_epsg() == 28992
    assert frame["naam"].tolist() == ["Dam", "Dam", "IJplein"]


def test_several_geometry_columns_each_get_the_crs_of_their_srid(buurten_and_meldingen):
    schema = buurten_and_meldingen
    frame = al.read(
        f"SELECT id, ST_Transform(geom, 4326) AS wgs84, geom, ST_Transform(ST_Centroid(geom), 4326)::geography AS midden"
        f" FROM {schema}.buurten ORDER BY id",
        geometry="geom",
    )
    assert frame.geometry.name == "geom" and frame.crs.to_epsg() == 28992
    assert frame["wgs84"].crs.to_epsg() == 4326 and frame["midden"].crs.to_epsg() == 4326
    assert frame["wgs84"].iloc[0].bounds[1] == pytest.approx(52.37, abs=0.01)  # the Dam
    assert isinstance(frame["midden"].iloc[0], shapely.Point)


def test_a_later_geometry_column_mixing_srids_is_refused():
    with pytest.raises(al.QueryError, match=r"column 'b' mixes SRIDs \[4326, 28992\]"):
        al.read(
            "SELECT 'SRID=28992;POINT(1 2)'::geometry AS a, g AS b"
            " FROM (VALUES ('SRID=28992;POINT(1 2)'::geometry), ('SRID=4326;POINT(1 2)'::geometry)) v(g)"
        )


@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        ("SELECT :pc AS x", {"p": 1}, r"no value for :pc; 'p' not used in the SQL \(the SQL uses :pc; params has 'p'\)"),
        ("SELECT :pc AS x", {}, r"no value for :pc \(the SQL uses :pc; no params were given\)"),
        ("SELECT :pc AS x", None, r"no value for :pc"),
        ("SELECT 1 AS x", {"jaar": 2024}, r"'jaar' not used in the SQL \(the SQL has no :name placeholders"),
        ("SELECT :a AS x, :b AS y", {"a": 1, "c": 2}, r"no value for :b; 'c' not used in the SQL \(the SQL uses :a, :b;"),
    ],
)
def test_parameters_that_do_not_match_the_placeholders_are_named(sql, params, message):
    with pytest.raises(al.QueryError, match=message):
        al.read(sql, params)


def test_casts_literals_comments_and_percent_keep_working_beside_parameters():
    frame = al.read(
        "SELECT :jaar::int + 1 AS volgend, '10:30'::time AS tijd, 'a:b' AS tekst, 5 % 3 AS rest,"
        " $$ :niet $$ AS dollar, \"x:y\" AS quoted, :jaar AS weer, :end AS eind -- :commentaar\n"
        " FROM (SELECT 1 AS \"x:y\") t /* :ook_niet */",
        {"jaar": "2024", "end": dt.date(2024, 12, 31)},
    )
    assert frame.iloc[0].to_dict() == {
        "volgend": 2025, "tijd": dt.time(10, 30), "tekst": "a:b", "rest": 2, "dollar": " :niet ", "quoted": 1,
        "weer": "2024", "eind": dt.date(2024, 12, 31),
    }


def test_parameters_reach_functions_that_want_an_integer_and_big_ids_stay_whole():
    frame = al.read(
        "SELECT ST_SRID(ST_Transform(ST_SetSRID(ST_MakePoint(121000, 487000), :rd), :wgs84)) AS srid, :bag AS bag,"
        " pg_typeof(:n)::text AS small, :ok AS ok, :x * 2 AS twice",
        {"rd": 28992, "wgs84": 4326, "bag": 363010000543211, "n": 7, "ok": True, "x": 0.25},
    )
    assert frame.iloc[0].to_dict() == {"srid": 4326, "bag": 363010000543211, "small": "integer", "ok": True, "twice": 0.5}


def test_a_list_after_in_becomes_one_parameter_per_item():
    sql = "SELECT x FROM (VALUES ('A'), ('N'), ('T')) v(x) WHERE x IN :stadsdelen ORDER BY x"
    assert al.read(sql, {"stadsdelen": ["A", "T"]})["x"].tolist() == ["A", "T"]
    assert al.read(sql, {"stadsdelen": ("N",)})["x"].tolist() == ["N"]
    with pytest.raises(al.QueryError, match=r"'stadsdelen' is an empty list, which cannot follow IN"):
        al.read(sql, {"stadsdelen": []})
    assert al.read(sql, {"stadsdelen": np.array(["A", "N"])})["x"].tolist() == ["A", "N"]
    assert al.read(sql, {"stadsdelen": {"T"}})["x"].tolist() == ["T"]
    assert al.read(sql.replace("IN :stadsdelen", "IN (:stadsdelen)"), {"stadsdelen": pd.Series(["N", "T"])})["x"].tolist() == ["N", "T"]
    with pytest.raises(al.QueryError, match=r"'l' is a list used after IN and elsewhere"):
        al.read("SELECT 1 AS x WHERE 1 IN :l OR 1 = ANY(:l)", {"l": [1]})


def test_a_dict_parameter_is_jsonb():
    assert al.read("SELECT :d ->> 'naam' AS naam", {"d": {"naam": "Dam"}})["naam"][0] == "Dam"


def test_sql_without_placeholders_needs_no_params():
    assert al.read("SELECT '12:00'::time AS t, 7 % 4 AS r").iloc[0].tolist() == [dt.time(12, 0), 3]
