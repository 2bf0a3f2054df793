"""The sample data: a city that tiles, codes in the city's style, points where they say they are."""

import re
import subprocess
import sys

import numpy as np
import pytest
import shapely

import analysis_lib as al
from analysis_lib import sample_data


@pytest.fixture(scope="module")
def data():
    return sample_data.make()


@pytest.mark.parametrize(("child", "parent", "key"), [("stadsdelen", None, None), ("wijken", "stadsdelen", "stadsdeel"), ("buurten", "wijken", "wijk")])
def test_each_level_tiles_its_parent_without_gaps_or_overlaps(data, child, parent, key):
    tiles = data.tables()[child]
    extent = shapely.box(*sample_data.EXTENT)
    union = shapely.union_all(tiles.geometry.to_numpy())
    assert tiles.is_valid.all()
    assert abs(tiles.area.sum() - union.area) < 1  # m2 of overlap in 450 km2
    assert shapely.symmetric_difference(union, extent).area < 1  # m2 of gap or spill
    if parent:
        parents = data.tables()[parent].set_index("code").geometry
        outside = [shapely.difference(g, parents[code]).area for g, code in zip(tiles.geometry, tiles[key], strict=True)]
        assert max(outside) < 0.01


def test_codes_follow_the_city_style(data):
    assert set(data.stadsdelen["code"]) == {"A", "B", "E", "F", "K", "M", "N", "T"}
    assert all(re.fullmatch(r"[ABEFKMNT][A-Z]", code) for code in data.wijken["code"])
    assert all(code.startswith(sd) for code, sd in zip(data.wijken["code"], data.wijken["stadsdeel"], strict=True))
    assert all(re.fullmatch(r"[A-Z]{2}\d{2}", code) for code in data.buurten["code"])
    assert (data.buurten["cbs_code"] == "BU0363" + data.buurten["code"]).all()
    assert data.buurten["code"].is_unique and data.wijken["code"].is_unique


def test_points_lie_in_the_buurt_they_name(data):
    buurten = data.buurten.set_index("code").geometry
    for points in (data.meldingen, data.afvalcontainers):
        inside = shapely.covers(buurten.loc[points["buurt"]].to_numpy(), points.geometry.to_numpy())
        assert inside.all()
    assert set(data.meldingen["categorie"]) == set(sample_data.CATEGORIES)
    start, end = sample_data.PERIOD
    assert data.meldingen["gemeld_op"].between(start, end).all()


def test_every_stadsdeel_has_meldingen_in_every_month_and_ids_follow_time(data):
    meldingen = data.meldingen.merge(data.buurten[["code", "stadsdeel"]], left_on="buurt", right_on="code")
    months = meldingen.groupby("stadsdeel")["gemeld_op"].apply(lambda stamps: stamps.dt.month.nunique())
    assert (months == 12).all(), months
    assert data.meldingen.sort_values("id")["gemeld_op"].is_monotonic_increasing


def test_same_seed_same_data_other_seed_other_data():
    first, again, other = sample_data.make(seed=7, scale=0.05), sample_data.make(seed=7, scale=0.05), sample_data.make(seed=8, scale=0.05)
    for name, frame in first.tables().items():
        assert frame.drop(columns="geometry").equals(again.tables()[name].drop(columns="geometry"))
        assert all(shapely.equals_exact(frame.geometry.to_numpy(), again.tables()[name].geometry.to_numpy(), tolerance=0))
    assert not np.array_equal(first.meldingen.geometry.x, other.meldingen.geometry.x)
    assert len(first.meldingen) == 1000 and len(first.afvalcontainers) == 250


def test_command_loads_it_into_postgis(schema):
    done = subprocess.run(
        [sys.executable, "-m", "analysis_lib", "sample-data", "--scale", "0.1", "--schema", schema],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"{schema}.meldingen: 2,000 rows" in done.stdout
    joined = al.read_sql(
        f"SELECT count(*) AS n FROM {schema}.meldingen m JOIN {schema}.buurten b ON b.code = m.buurt AND ST_Covers(b.geom, m.geom)"
    )
    assert joined["n"][0] == 2000
    buurten = al.read(f"{schema}.buurten")
    assert buurten.crs.to_epsg() == 28992 and len(buurten) == len(sample_data.make().buurten)


def test_sample_files_import_back_to_the_same_data_and_are_never_overwritten(tmp_path, schema):
    folder = tmp_path / "raw"
    files = sample_data.write_files(folder)
    assert [path.name for path in files] == ["buurten.gpkg", "meldingen.csv", "afvalcontainers.geojson"]
    expected = sample_data.make()

    al.import_file(folder / "meldingen.csv", "meldingen", schema=schema, x="x", y="y", crs="EPSG:28992")
    al.import_file(folder / "buurten.gpkg", "wijken", schema=schema, layer="wijken")
    al.import_file(folder / "afvalcontainers.geojson", "containers", schema=schema)
    meldingen = al.read(f"{schema}.meldingen").sort_values("id")
    assert meldingen["categorie"].tolist() == expected.meldingen["categorie"].tolist()
    assert (shapely.distance(meldingen.geometry.to_numpy(), expected.meldingen.geometry.to_numpy()) < 0.01).all()
    local = expected.meldingen["gemeld_op"].dt.tz_convert("Europe/Amsterdam").dt.tz_localize(None)
    assert (meldingen["gemeld_op"].to_numpy() == local.dt.floor("s").to_numpy()).all()
    wijken = al.read(f"{schema}.wijken")
    assert sorted(wijken["code"]) == sorted(expected.wijken["code"])
    containers = al.read(f"{schema}.containers").sort_values("id")
    assert containers.crs.to_epsg() == 28992  # GeoJSON in WGS 84, reprojected on import
    assert (shapely.distance(containers.geometry.to_numpy(), expected.afvalcontainers.geometry.to_numpy()) < 0.01).all()

    (folder / "meldingen.csv").write_text("an analyst's own edit\n")
    sample_data.write_files(folder)
    assert (folder / "meldingen.csv").read_text() == "an analyst's own edit\n"
    assert not list(folder.glob(".partial-*"))
