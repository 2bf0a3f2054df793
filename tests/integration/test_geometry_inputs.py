"""Geometries decided over the whole input, from the one source the file has, checked against their CRS,
and repaired when asked: files the tests write, loaded into the real PostGIS, stored values asserted."""

import struct

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
import shapely.affinity

import analysis_lib as al
from analysis_lib.files import import_file
from db_snapshot import snapshot

DAM = (121_380.0, 487_380.0)
TO_WGS84 = pyproj.Transformer.from_crs(28992, 4326, always_xy=True)


def column_type(schema: str, table: str = "data", column: str = "geom") -> str:
    return al.read_sql(
        "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND attname = :c",
        {"t": f"{schema}.{table}", "c": column},
    )["t"][0]


def squares(n: int) -> list[shapely.Polygon]:
    return [shapely.box(110_000 + (i % 200) * 100, 476_000 + (i // 200) * 100, 110_050 + (i % 200) * 100, 476_050 + (i // 200) * 100) for i in range(n)]


def gpkg(path, geometries, *, declared: str, crs="EPSG:28992", **fields):
    wkb = np.array([None if g is None else shapely.to_wkb(g) for g in geometries], dtype=object)
    names = list(fields) or ["id"]
    values = [np.asarray(v) for v in fields.values()] or [np.arange(1, len(geometries) + 1)]
    pyogrio.raw.write(path, geometry=wkb, field_data=values, fields=names, geometry_type=declared, crs=crs, driver="GPKG")
    return path


# --- type and dimension from every batch ---------------------------------------------------------


def test_a_multipolygon_in_the_last_batch_makes_the_column_multipolygon(tmp_path, schema):
    shapes = squares(5000)
    shapes[-1] = shapely.MultiPolygon([shapes[-1], shapely.affinity.translate(shapes[-1], 60, 0)])
    path = gpkg(tmp_path / "vlakken.gpkg", shapes, declared="Unknown")
    report = import_file(path, "data", schema=schema, batch_size=1000)
    assert report.rows == 5000 and column_type(schema) == "geometry(MultiPolygon,28992)"
    back = al.read(f"SELECT id, geom FROM {schema}.data ORDER BY id")
    assert back.geometry.iloc[0].equals(shapely.MultiPolygon([shapes[0]]))
    assert back.geometry.iloc[-1].equals(shapes[-1])


@pytest.mark.filterwarnings("ignore:A geometry of type MULTIPOLYGON is inserted into layer:RuntimeWarning")
def test_a_layer_that_declares_polygons_but_holds_multipolygons_loads_them(tmp_path, schema):
    shapes = squares(3)
    shapes[1] = shapely.MultiPolygon([shapes[1], shapely.affinity.translate(shapes[1], 60, 0)])
    path = gpkg(tmp_path / "gelogen.gpkg", shapes, declared="Polygon")
    import_file(path, "data", schema=schema)
    assert column_type(schema) == "geometry(MultiPolygon,28992)"
    assert al.read(f"SELECT geom FROM {schema}.data ORDER BY id").geometry.iloc[1].equals(shapes[1])


def test_3d_lines_after_rows_without_geometry_make_the_column_z(tmp_path, schema):
    lines = [None] * 2500 + [shapely.LineString([(121_000, 487_000, 1.5), (121_010, 487_010, 2.5)])] * 10
    path = gpkg(tmp_path / "lijnen.gpkg", lines, declared="Unknown")
    import_file(path, "data", schema=schema, batch_size=1000)
    assert column_type(schema) == "geometry(LineStringZ,28992)"
    z = al.read_sql(f"SELECT ST_Z(ST_StartPoint(geom)) AS z FROM {schema}.data WHERE geom IS NOT NULL")["z"]
    assert z.tolist() == [1.5] * 10


def test_points_then_lines_in_later_batches_make_a_geometry_column(tmp_path, schema):
    shapes = list(shapely.points(np.full(1500, DAM[0]), np.full(1500, DAM[1]))) + [shapely.LineString([DAM, (DAM[0] + 5, DAM[1])])]
    path = gpkg(tmp_path / "gemengd.gpkg", shapes, declared="Unknown")
    import_file(path, "data", schema=schema, batch_size=500)
    assert column_type(schema) == "geometry(Geometry,28992)"
    kinds = al.read_sql(f"SELECT GeometryType(geom) AS t, count(*) AS n FROM {schema}.data GROUP BY 1 ORDER BY 1")
    assert kinds.to_dict("list") == {"t": ["LINESTRING", "POINT"], "n": [1, 1500]}


def test_a_first_batch_without_geometries_does_not_leave_the_column_untyped(tmp_path, schema):
    shapes = [None] * 1200 + list(shapely.points(np.full(5, DAM[0]), np.full(5, DAM[1])))
    path = gpkg(tmp_path / "laat.gpkg", shapes, declared="Unknown")
    import_file(path, "data", schema=schema, batch_size=1000)
    assert column_type(schema) == "geometry(Point,28992)"


def test_what_is_stored_does_not_depend_on_where_batches_end(tmp_path, schema):
    square = shapely.box(*DAM, DAM[0] + 10, DAM[1] + 10)
    two = shapely.MultiPolygon([square, shapely.affinity.translate(square, 20, 0)])
    shapes = [square, square, two, two, shapely.LineString([DAM, (DAM[0] + 5, DAM[1])]), square, shapely.MultiPolygon([square])]
    path = gpkg(tmp_path / "volgorde.gpkg", shapes, declared="Unknown")
    stored = []
    for batch_size in (2, 100):
        import_file(path, f"data_{batch_size}", schema=schema, batch_size=batch_size)
        stored.append(al.read_sql(f"SELECT ST_AsText(geom) AS wkt FROM {schema}.data_{batch_size} ORDER BY id")["wkt"].tolist())
    assert stored[0] == stored[1]
    assert column_type(schema, "data_2") == "geometry(Geometry,28992)"
    kinds = [wkt.split(" ")[0].split("(")[0] for wkt in stored[0]]
    assert kinds == ["POLYGON", "POLYGON", "MULTIPOLYGON", "MULTIPOLYGON", "LINESTRING", "POLYGON", "POLYGON"]  # one part: single


def test_appends_to_a_geometry_column_store_one_part_multis_as_single(tmp_path, schema):
    square = shapely.box(*DAM, DAM[0] + 10, DAM[1] + 10)
    al.load(gpd.GeoDataFrame({"id": [1, 2]}, geometry=[square, shapely.Point(DAM)], crs=28992).rename_geometry("geom"), "data", schema=schema)
    for shapes in ([shapely.MultiPolygon([square])], [shapely.MultiPolygon([square]), shapely.Point(DAM)]):
        frame = gpd.GeoDataFrame({"id": range(3, 3 + len(shapes))}, geometry=shapes, crs=28992).rename_geometry("geom")
        al.load(frame, "data", schema=schema, if_exists="append")
    kinds = al.read_sql(f"SELECT GeometryType(geom) AS t FROM {schema}.data WHERE id >= 3 ORDER BY id")["t"].tolist()
    assert kinds == ["POLYGON", "POLYGON", "POINT"]


def test_markers_in_coordinate_and_wkt_columns_are_missing_geometries(tmp_path, schema):
    path = tmp_path / "gaten.csv"
    path.write_text(f"id;x;y\n1;{DAM[0]};{DAM[1]}\n2;NA;NA\n")
    import_file(path, "data", schema=schema, crs="EPSG:28992")
    assert al.read(f"SELECT * FROM {schema}.data ORDER BY id").geometry.isna().tolist() == [False, True]
    wkt = tmp_path / "wkt_gaten.csv"
    wkt.write_text(f"id,wkt\n1,POINT ({DAM[0]} {DAM[1]})\n2,NULL\n")
    import_file(wkt, "data_wkt", schema=schema, crs="EPSG:28992")
    assert al.read(f"SELECT * FROM {schema}.data_wkt ORDER BY id").geometry.isna().tolist() == [False, True]


# --- one geometry source, named -------------------------------------------------------------------


def containers_csv(path, *, rd_column="geometrie_origineel"):
    lon, lat = TO_WGS84.transform(*DAM)
    path.write_text(f"id,{rd_column},lon,lat\n1,POINT ({DAM[0]} {DAM[1]}),{lon},{lat}\n")
    return path


def test_a_csv_with_wkt_and_lon_lat_names_both_and_changes_nothing(tmp_path, schema):
    path = containers_csv(tmp_path / "containers.csv")
    al.load(pd.DataFrame({"a": [1]}), "data", schema=schema)
    before = snapshot(schema)
    with pytest.raises(al.InputFileError, match=(
        r"2 ways to make geometries: column geometrie_origineel \(WKT\); columns lon/lat \(x/y\)\."
        r" Choose one: geometry='geometrie_origineel' or x='lon', y='lat'"
    )):
        import_file(path, "data", schema=schema, crs="EPSG:28992", if_exists="replace")
    assert snapshot(schema) == before


@pytest.mark.parametrize("choice", [{"geometry": "geometrie_origineel", "crs": "EPSG:28992"}, {"x": "lon", "y": "lat"}])
def test_the_named_source_wins_and_either_lands_on_the_dam(tmp_path, schema, choice):
    import_file(containers_csv(tmp_path / "containers.csv"), "data", schema=schema, **choice)
    point = al.read(f"SELECT * FROM {schema}.data").geometry.iloc[0]
    assert point.x == pytest.approx(DAM[0], abs=0.01) and point.y == pytest.approx(DAM[1], abs=0.01)


def test_ewkt_carries_its_crs_and_a_contradicting_crs_is_refused(tmp_path, schema):
    lon, lat = TO_WGS84.transform(*DAM)
    path = tmp_path / "ewkt.csv"
    path.write_text(f"naam;locatie\nDam;SRID=4326;POINT({lon} {lat})\n".replace(";SRID", ";\"SRID").replace(")\n", ')"\n'))
    report = import_file(path, "data", schema=schema)
    assert "CRS: EPSG:4326, from the SRID in the values" in report.notes
    assert al.read(f"SELECT * FROM {schema}.data").geometry.iloc[0].x == pytest.approx(DAM[0], abs=0.01)
    with pytest.raises(al.InputFileError, match=r"crs='EPSG:28992' contradicts the SRID in its values"):
        import_file(path, "data2", schema=schema, crs="EPSG:28992")


def test_an_attribute_named_like_the_geometry_column_is_kept_beside_it(tmp_path, schema):
    path = tmp_path / "geom.csv"
    path.write_text(f"geom,x,y\nvlak,{DAM[0]},{DAM[1]}\n")
    report = import_file(path, "data", schema=schema, x="x", y="y", crs="EPSG:28992")
    assert report.columns["geom"] == "geom_2" and report.geometry.name == "geom"
    row = al.read(f"SELECT * FROM {schema}.data").iloc[0]
    assert row["geom_2"] == "vlak" and row["geom"].equals(shapely.Point(DAM))


def test_geojson_and_hex_ewkb_columns(tmp_path, schema):
    lon, lat = TO_WGS84.transform(*DAM)
    path = tmp_path / "geojson.csv"
    pd.DataFrame({"naam": ["Dam"], "vorm": [f'{{"type": "Point", "coordinates": [{lon}, {lat}]}}']}).to_csv(path, index=False)
    report = import_file(path, "data", schema=schema)
    assert "CRS: EPSG:4326 assumed for GeoJSON (its standard)" in report.notes
    assert al.read(f"SELECT * FROM {schema}.data").geometry.iloc[0].y == pytest.approx(DAM[1], abs=0.01)
    hex_path = tmp_path / "hex.csv"
    ewkb = shapely.to_wkb(shapely.set_srid(shapely.Point(DAM), 28992), hex=True, include_srid=True)
    hex_path.write_text(f"naam,wkb_geometry_hex\nDam,{ewkb}\n")
    import_file(hex_path, "data_hex", schema=schema)
    assert al.read(f"SELECT * FROM {schema}.data_hex").geometry.iloc[0].equals(shapely.Point(DAM))


def test_hex_wkb_columns_with_broken_or_curved_values_stay_geometry_columns(tmp_path, schema):
    x, y = DAM
    broken = (struct.pack("<BIII", 1, 3, 2, 5) + struct.pack("<10d", x, y, x + 10, y, x + 10, y + 10, x, y + 10, x, y)
              + struct.pack("<I4d", 2, x + 1, y + 1, x + 1, y + 1)).hex()
    path = tmp_path / "hex.csv"
    path.write_text(f"id;vorm\n1;{shapely.to_wkb(shapely.Point(DAM), hex=True)}\n2;{broken}\n")
    with pytest.raises(al.InputFileError, match=r"row 2, column vorm: the geometry cannot be read"):
        import_file(path, "data", schema=schema, crs="EPSG:28992")
    report = import_file(path, "data", schema=schema, crs="EPSG:28992", make_valid=True)
    assert report.geometry.name == "geom" and report.repaired_rows == [2]
    curve = al.read_sql("SELECT encode(ST_AsBinary(ST_Translate('CIRCULARSTRING(0 0, 1 1, 2 0)'::geometry, 121000, 487000)), 'hex') AS h")["h"][0]
    curved = tmp_path / "bogen.csv"
    curved.write_text(f"id,vorm\n1,\\x{curve}\n")  # \x, as PostgreSQL prints bytea
    report = import_file(curved, "bogen", schema=schema, crs="EPSG:28992")
    assert "curved geometries linearised (PostGIS ST_CurveToLine)" in report.notes


def test_a_binary_wkb_column_of_a_plain_parquet_file_is_named_with_geometry(tmp_path, schema):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "plat.parquet"
    pq.write_table(pa.table({"id": [1], "wkb": [shapely.to_wkb(shapely.Point(DAM))]}), path)
    import_file(path, "data", schema=schema, geometry="wkb", crs="EPSG:28992")
    assert al.read(f"SELECT * FROM {schema}.data").geometry.iloc[0].equals(shapely.Point(DAM))


# --- coordinates checked against the CRS -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "options", "cause"),
    [
        ("id;x;y\n1;4,9;52,37\n2;4,91;52,38\n", {"crs": "EPSG:28992"}, r"These look like degrees \(longitude, latitude\): did you mean crs='EPSG:4326'\?"),
        ("id;x;y\n1;487380;121380\n", {"crs": "EPSG:28992"}, r"x and y look swapped"),
        ("id;lon;lat\n1;121380;487380\n", {}, r"These look like RD New metres: did you mean crs='EPSG:28992'\?"),
        ("id;lon;lat\n1;52,37;4,9\n", {}, r"x and y look swapped \(longitude and latitude the other way round\)"),
        ("id;lat;lon\n1;52,37;4,9\n", {"x": "lat", "y": "lon"}, r"x and y look swapped \(longitude and latitude the other way round\)"),
    ],
    ids=["degrees as RD metres", "RD x and y swapped", "RD metres as degrees", "latitude and longitude swapped", "lat named as x"],
)
def test_coordinates_outside_their_crs_stop_the_load_and_name_the_cause(tmp_path, schema, text, options, cause):
    path = tmp_path / "punten.csv"
    path.write_text(text)
    al.load(pd.DataFrame({"a": [1]}), "data", schema=schema)
    before = snapshot(schema)
    with pytest.raises(al.LoadError, match=r"punten\.csv column geom: \d of \d geometries lie outside the area where .*rows 1.*" + cause):
        import_file(path, "data", schema=schema, if_exists="replace", **options)
    assert snapshot(schema) == before


def test_the_whole_input_is_counted_before_the_load_stops(tmp_path, schema):
    path = tmp_path / "veel.csv"
    rows = ["id,x,y"] + [f"{i},{DAM[0]},{DAM[1]}" for i in range(1, 3000)] + [f"{i},4.9,52.37" for i in range(3000, 3011)]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(al.LoadError, match=r"11 of 3,010 geometries lie outside .*rows 3000, 3001, 3002, 3003, 3004, …"):
        import_file(path, "data", schema=schema, crs="EPSG:28992", batch_size=500)
    assert al.read_sql("SELECT to_regclass(:t) IS NULL AS gone", {"t": f"{schema}.data"})["gone"][0]


def test_a_file_whose_own_crs_is_wrong_takes_the_crs_given_where_its_coordinates_contradict_it(tmp_path, schema):
    path = tmp_path / "rd_zonder_label.geojson"  # GeoJSON without a crs member means WGS 84; these are RD metres
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": 1},'
        f' "geometry": {{"type": "Point", "coordinates": [{DAM[0]}, {DAM[1]}]}}}}]}}'
    )
    with pytest.raises(al.LoadError, match=r"lie outside the area where EPSG:4326 .*These look like RD New metres: did you mean crs='EPSG:28992'"):
        import_file(path, "data", schema=schema)
    report = import_file(path, "data", schema=schema, crs="EPSG:28992")
    assert any(note.startswith("CRS: crs='EPSG:28992' used instead of the file's own") for note in report.notes)
    assert al.read(f"SELECT * FROM {schema}.data").geometry.iloc[0].equals(shapely.Point(DAM))
    wgs84 = tmp_path / "echt_wgs84.geojson"
    gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.Point(4.89, 52.37)], crs=4326).to_file(wgs84)
    with pytest.raises(al.InputFileError, match=r"crs='EPSG:28992' contradicts its own CRS"):
        import_file(wgs84, "data2", schema=schema, crs="EPSG:28992")


def test_data_that_really_lies_outside_loads_with_check_extent_false(tmp_path, schema):
    frame = gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.Point(1, 2)], crs=28992)
    with pytest.raises(al.LoadError, match="lie outside the area where EPSG:28992"):
        al.load(frame, "data", schema=schema)
    al.load(frame, "data", schema=schema, check_extent=False)
    assert al.read(f"SELECT * FROM {schema}.data").geometry.iloc[0].equals(shapely.Point(1, 2))


def test_every_batch_is_counted_against_the_target_area_too(tmp_path, schema):
    path = tmp_path / "wereld.gpkg"
    places = [shapely.Point(4.9, 52.37)] + [shapely.Point(-77.04 + i, -12.05) for i in range(12)]
    gpkg(path, places, declared="Point", crs="EPSG:4326")
    for batch_size in (3, 100):
        with pytest.raises(al.LoadError, match=r"12 of 13 geometries lie outside the area where the target CRS EPSG:28992 .*the first at \(-77\.04, -12\.05\)"):
            import_file(path, f"data_{batch_size}", schema=schema, batch_size=batch_size)


def test_ogc_crs84_is_epsg_4326_and_antimeridian_crs_areas_hold_their_data(tmp_path, schema):
    parquet = tmp_path / "crs84.parquet"
    gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.Point(4.89, 52.37)], crs="OGC:CRS84").to_parquet(parquet)
    import_file(parquet, "data", schema=schema, crs="EPSG:4326", target_crs=None)
    assert column_type(schema, column="geometry") == "geometry(Point,4326)"
    washington = gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.Point(-77.04, 38.9)], crs=4269)  # NAD83: its area spans the antimeridian
    al.load(washington, "nad83", schema=schema)
    assert column_type(schema, "nad83", "geometry") == "geometry(Point,4269)"


def test_world_data_is_not_reprojected_into_rd_new_unless_asked(tmp_path, schema):
    path = tmp_path / "steden.geojson"
    gpd.GeoDataFrame({"naam": ["Amsterdam", "Lima"]}, geometry=[shapely.Point(4.9, 52.37), shapely.Point(-77.04, -12.05)], crs=4326).to_file(path)
    with pytest.raises(al.LoadError, match=r"1 of 2 geometries lie outside the area where the target CRS EPSG:28992 .*keep them in their own CRS with target_crs=None"):
        import_file(path, "data", schema=schema)
    import_file(path, "data", schema=schema, target_crs=None)
    assert column_type(schema) == "geometry(Point,4326)"


# --- repairs that repair ---------------------------------------------------------------------------


def unreadable_rings_geopackage(path):
    """Polygons GDAL writes and shapely cannot read: a shell of two points, a ring left open, and a good
    shell with a hole of one point written twice (as in a shapefile from the wild)."""
    x, y = DAM
    two_points = struct.pack("<BIII", 1, 3, 1, 2) + struct.pack("<4d", x, y, x + 1, y + 1)
    unclosed = struct.pack("<BIII", 1, 3, 1, 4) + struct.pack("<8d", x, y, x + 2, y, x + 2, y + 2, x, y + 2)
    flat_hole = (
        struct.pack("<BIII", 1, 3, 2, 5) + struct.pack("<10d", x, y, x + 10, y, x + 10, y + 10, x, y + 10, x, y)
        + struct.pack("<I4d", 2, x + 1, y + 1, x + 1, y + 1)  # one point twice: shapely's fix gives up on the polygon
    )
    good = shapely.to_wkb(shapely.box(x, y, x + 1, y + 1))
    pyogrio.raw.write(
        path, geometry=np.array([good, two_points, unclosed, flat_hole], dtype=object), field_data=[np.array([1, 2, 3, 4])],
        fields=["id"], geometry_type="Polygon", crs="EPSG:28992", driver="GPKG",
    )
    return path


def test_make_valid_repairs_what_geos_cannot_read_and_reports_the_rows(tmp_path, schema):
    path = unreadable_rings_geopackage(tmp_path / "ringen.gpkg")
    with pytest.raises(al.InputFileError, match=r"row 2: the geometry cannot be read \(.*LinearRing.*\); pass make_valid=True"):
        import_file(path, "data", schema=schema)
    report = import_file(path, "data", schema=schema, make_valid=True)
    assert report.repaired_rows == [3, 4] and report.nulled_rows == [2]
    assert "repaired 2 invalid geometries (rows 3, 4)" in str(report)
    assert "1 geometries could not be repaired and are NULL (rows 2)" in str(report)
    back = al.read(f"SELECT id, geom FROM {schema}.data ORDER BY id")
    assert back.geometry.iloc[1] is None
    assert back.geometry.iloc[2].area == pytest.approx(4.0) and back.geometry.iloc[2].is_valid
    assert back.geometry.iloc[3].area == pytest.approx(100.0) and back.geometry.iloc[3].is_valid  # the shell, without its flat hole
