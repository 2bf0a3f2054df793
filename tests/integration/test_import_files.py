"""import_file() for every supported format, with files the tests write themselves."""

import subprocess
import sys
import zipfile

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

DAM_RD = (121380.0, 487380.0)
DAM_WGS84 = pyproj.Transformer.from_crs(28992, 4326, always_xy=True).transform(*DAM_RD)


def buurten_frame(crs="EPSG:28992") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"Buurtcode": ["AF01", "AF02", "AF03"], "Naam": ["Burgwallen-Oude Zijde", "Café 't Hoekje", "IJplein"], "Inwoners": [4200, 3100, 2900]},
        geometry=[shapely.box(121000 + i * 500, 487000, 121400 + i * 500, 487400) for i in range(3)],
        crs=crs,
    )


def imported(schema, table="data"):
    return al.read(f"SELECT * FROM {schema}.{table} ORDER BY 1")


def geometry_type(schema, table="data") -> str:
    return al.read_sql(
        "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND attname = 'geom'",
        {"t": f"{schema}.{table}"},
    )["t"][0]


def test_geopackage_layer_with_crs_and_renamed_columns(tmp_path, schema):
    path = tmp_path / "gebieden.gpkg"
    buurten_frame().to_file(path, layer="buurten")
    buurten_frame().iloc[:1].to_file(path, layer="wijken")
    report = import_file(path, "data", layer="buurten", schema=schema)
    assert report.rows == 3
    assert report.renamed == {"Buurtcode": "buurtcode", "Naam": "naam", "Inwoners": "inwoners"}
    frame = imported(schema)
    assert frame["naam"].tolist() == ["Burgwallen-Oude Zijde", "Café 't Hoekje", "IJplein"]
    assert frame.crs.to_epsg() == 28992
    assert geometry_type(schema) == "geometry(Polygon,28992)"


def test_geojson_in_wgs84_is_reprojected_to_rd_new(tmp_path, schema):
    path = tmp_path / "dam.geojson"
    gpd.GeoDataFrame({"naam": ["Dam"]}, geometry=[shapely.Point(DAM_WGS84)], crs="EPSG:4326").to_file(path)
    import_file(path, "data", schema=schema)
    point = imported(schema).geometry.iloc[0]
    assert point.x == pytest.approx(DAM_RD[0], abs=0.01) and point.y == pytest.approx(DAM_RD[1], abs=0.01)
    assert geometry_type(schema) == "geometry(Point,28992)"


def test_shapefile_with_esri_prj_and_without_cpg(tmp_path, schema):
    path = tmp_path / "buurten.shp"
    buurten_frame().to_file(path, encoding="cp1252")
    path.with_suffix(".cpg").unlink()
    path.with_suffix(".prj").write_text(pyproj.CRS(28992).to_wkt("WKT1_ESRI"))  # PROJCS["RD_New", …]
    report = import_file(path, "data", schema=schema)
    assert report.encoding.name == "cp1252" and report.encoding.evidence.startswith("no .cpg file, not UTF-8")
    frame = imported(schema)
    assert frame["naam"].tolist()[1] == "Café 't Hoekje"
    assert frame.crs.to_epsg() == 28992
    # a shapefile's polygon layer may hold multipolygons: the column is MultiPolygon
    assert geometry_type(schema) == "geometry(MultiPolygon,28992)"


def test_zipped_shapefile(tmp_path, schema):
    folder = tmp_path / "shp"
    folder.mkdir()
    buurten_frame().to_file(folder / "buurten.shp")
    archive = tmp_path / "buurten.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in folder.iterdir():
            zipped.write(part, part.name)
    assert import_file(archive, "data", schema=schema).rows == 3


def test_geoparquet_streams_in_batches(tmp_path, schema):
    n = 2500
    frame = gpd.GeoDataFrame(
        {"id": np.arange(n)}, geometry=shapely.points(121000 + np.arange(n), np.full(n, 487000.0)), crs="EPSG:28992"
    )
    path = tmp_path / "punten.parquet"
    frame.to_parquet(path, row_group_size=500)
    report = import_file(path, "data", schema=schema, batch_size=400)
    assert report.rows == n
    back = imported(schema)
    assert back["id"].tolist() == list(range(n))
    assert back.geometry.x.tolist() == frame.geometry.x.tolist()


def test_dutch_csv_with_semicolons_decimal_comma_bom_and_xy(tmp_path, schema):
    path = tmp_path / "meldingen.csv"
    text = "Categorie;X;Y;Bedrag\nAfval;121380,5;487380,25;12,50\nGroen;119650;486250;3,75\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    report = import_file(path, "data", schema=schema, crs="EPSG:28992")
    assert "decimal comma" in report.notes
    frame = imported(schema)
    assert frame["categorie"].tolist() == ["Afval", "Groen"]  # the BOM is not part of the first name
    assert frame["bedrag"].tolist() == [12.5, 3.75]
    assert (frame.geometry.iloc[0].x, frame.geometry.iloc[0].y) == (121380.5, 487380.25)


def test_csv_with_wkt_column_and_cp1252_text(tmp_path, schema):
    path = tmp_path / "locaties.csv"
    text = 'naam,wkt\n"Café, zaal",POINT (121380 487380)\nPlein,"POLYGON ((121000 487000, 121001 487000, 121001 487001, 121000 487000))"\n'
    path.write_bytes(text.encode("cp1252"))
    report = import_file(path, "data", schema=schema, crs="EPSG:28992", geometry_type="Geometry")
    assert report.encoding.name == "cp1252" and "not UTF-8" in report.encoding.evidence
    frame = imported(schema)
    assert frame["naam"].tolist() == ["Café, zaal", "Plein"]
    assert frame.geometry.iloc[1].geom_type == "Polygon"


def test_csv_with_lon_lat_columns_is_taken_as_wgs84(tmp_path, schema):
    path = tmp_path / "containers.csv"
    path.write_text(f"id,lon,lat\n1,{DAM_WGS84[0]},{DAM_WGS84[1]}\n")
    report = import_file(path, "data", schema=schema)
    assert any("EPSG:4326 assumed" in note for note in report.notes)
    assert imported(schema).geometry.iloc[0].x == pytest.approx(DAM_RD[0], abs=0.01)


def test_xlsx_sheet_with_xy(tmp_path, schema):
    path = tmp_path / "tellingen.xlsx"
    pyogrio.write_dataframe(pd.DataFrame({"plek": ["Dam"], "x": [DAM_RD[0]], "y": [DAM_RD[1]], "aantal": [12]}), path, driver="XLSX", layer="telling")
    import_file(path, "data", schema=schema, crs="EPSG:28992")
    frame = imported(schema)
    assert frame["aantal"].tolist() == [12]
    assert frame.geometry.iloc[0].equals(shapely.Point(DAM_RD))


def test_plain_csv_becomes_a_plain_table(tmp_path, schema):
    path = tmp_path / "kerncijfers.csv"
    path.write_text("code,inwoners\nBU03630000,-99999999\nBU03630001,1200\n")
    import_file(path, "data", schema=schema, null_values=[-99999999])
    frame = al.read(f"SELECT * FROM {schema}.data ORDER BY code")
    assert not isinstance(frame, gpd.GeoDataFrame)
    assert frame["inwoners"].isna().tolist() == [True, False]


def test_3d_and_mixed_single_multi_geojson(tmp_path, schema):
    path = tmp_path / "lijnen.geojson"
    lines = [shapely.LineString([(0, 0, 1), (1, 1, 2)]), shapely.MultiLineString([[(2, 2, 3), (3, 3, 4)], [(5, 5, 5), (6, 6, 6)]])]
    lines = [shapely.affinity.translate(line, *DAM_RD) for line in lines]
    gpd.GeoDataFrame({"id": [1, 2]}, geometry=lines, crs="EPSG:28992").to_file(path)
    import_file(path, "data", schema=schema)
    assert geometry_type(schema) == "geometry(MultiLineStringZ,28992)"
    import_file(path, "plat", schema=schema, z="drop")
    assert geometry_type(schema, "plat") == "geometry(MultiLineString,28992)"


def test_command_line_load_and_its_errors(tmp_path, schema):
    path = tmp_path / "buurten.gpkg"
    buurten_frame().to_file(path)
    command = [sys.executable, "-m", "analysis_lib", "load", str(path), "--table", "data", "--schema", schema]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{schema}.data: 3 rows" in done.stdout
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1
    assert f"table {schema}.data already exists; pass if_exists='replace'" in again.stderr
    replaced = subprocess.run([*command, "--replace"], capture_output=True, text=True, timeout=120)
    assert replaced.returncode == 0, replaced.stderr
    wgs84 = tmp_path / "dam.geojson"
    gpd.GeoDataFrame({"naam": ["Dam"]}, geometry=[shapely.Point(DAM_WGS84)], crs="EPSG:4326").to_file(wgs84)
    kept = subprocess.run([*command[:4], str(wgs84), *command[5:], "--replace", "--target-crs", "keep"], capture_output=True, text=True, timeout=120)
    assert kept.returncode == 0, kept.stderr
    assert geometry_type(schema, "data") == "geometry(Point,4326)"


def test_progress_bar_shows_rows_per_second_when_asked(tmp_path, schema, capsys):
    path = tmp_path / "punten.csv"
    path.write_text("id,x,y\n" + "".join(f"{i},{121000 + i},487000\n" for i in range(500)))
    import_file(path, "data", schema=schema, crs="EPSG:28992", progress=True)
    shown = capsys.readouterr().err
    assert f"{schema}.data" in shown and "rows/s" in shown
    import_file(path, "stil", schema=schema, crs="EPSG:28992", progress=False)
    assert capsys.readouterr().err == ""


def geopackage_of(path, wkt: str):
    """A GeoPackage holding one geometry shapely cannot read, as PostGIS writes it, moved to the Dam."""
    geometry = al.read_sql("SELECT ST_AsBinary(ST_Translate(CAST(:wkt AS geometry), 121000, 487000)) AS w", {"wkt": wkt})["w"][0]
    pyogrio.raw.write(
        path, geometry=np.array([geometry], dtype=object), field_data=[np.array([1])], fields=["id"],
        geometry_type="Unknown", crs="EPSG:28992", driver="GPKG",
    )
    return path


def test_curved_geometries_are_linearised(tmp_path, schema):
    path = geopackage_of(tmp_path / "bocht.gpkg", "CURVEPOLYGON(CIRCULARSTRING(0 0, 4 0, 4 4, 0 4, 0 0))")
    report = import_file(path, "data", schema=schema)
    assert "curved geometries linearised (PostGIS ST_CurveToLine)" in report.notes
    circle = imported(schema).geometry.iloc[0]
    assert circle.geom_type == "Polygon"
    assert circle.area == pytest.approx(8 * np.pi, rel=0.01)  # both arcs lie on the circle of radius sqrt(8) around (2, 2)


@pytest.mark.filterwarnings("ignore:Registering non-standard gpkg_geom_TIN extension:RuntimeWarning")
def test_tins_become_collections_of_their_faces(tmp_path, schema):
    path = geopackage_of(tmp_path / "maaiveld.gpkg", "TIN Z (((0 0 1, 10 0 2, 0 10 3, 0 0 1)), ((10 0 2, 10 10 4, 0 10 3, 10 0 2)))")
    report = import_file(path, "data", schema=schema)
    assert "TINs and polyhedral surfaces stored as GeometryCollections of their faces, triangles as Polygons (PostGIS ST_ForceSFS)" in report.notes
    assert geometry_type(schema) == "geometry(GeometryCollectionZ,28992)"
    faces = imported(schema).geometry.iloc[0]
    assert [face.geom_type for face in faces.geoms] == ["Polygon", "Polygon"] and faces.area == pytest.approx(100.0)
    assert faces.geoms[1].exterior.coords[1] == (121010, 487010, 4)


@pytest.mark.filterwarnings("ignore:Registering non-standard gpkg_geom_TIN extension:RuntimeWarning")
def test_a_tin_with_a_vertical_face_is_repaired_into_its_other_faces(tmp_path, schema):
    path = geopackage_of(tmp_path / "wand.gpkg", "TIN Z (((0 0 0, 0 0 1, 0 1 0, 0 0 0)), ((0 0 0, 0 1 0, 1 1 0, 0 0 0)))")
    with pytest.raises(al.LoadError, match=r"1 invalid geometry .*pass make_valid=True"):
        import_file(path, "data", schema=schema)
    report = import_file(path, "data", schema=schema, make_valid=True)
    assert report.repaired_rows == [1]
    faces = imported(schema).geometry.iloc[0]
    assert faces.geom_type == "GeometryCollection" and len(faces.geoms) == 1 and faces.has_z  # the vertical face, flat in 2D, is gone


def test_statistics_export_with_title_lines_and_a_footer(tmp_path, schema):
    path = tmp_path / "kerncijfers.csv"
    path.write_text('"Kerncijfers wijken en buurten"\n""\n"Regio";"Inwoners|aantal";"Dichtheid|per km2"\n"Amsterdam";"862965";"5277,3"\n"Centrum";"81251";"10142,7"\n"Bron: CBS"\n')
    with pytest.raises(al.LoadError, match="pass skip_rows=N"):
        import_file(path, "data", schema=schema)
    with pytest.raises(al.LoadError, match="skip_bad_lines=True"):
        import_file(path, "data", schema=schema, skip_rows=2)
    report = import_file(path, "data", schema=schema, skip_rows=2, skip_bad_lines=True)
    assert report.rows == 2
    assert "skipped 1 malformed line(s), the first: '\"Bron: CBS\"' (1 fields where 3 were expected)" in report.notes
    frame = al.read(f"SELECT * FROM {schema}.data ORDER BY inwoners_aantal")
    assert frame["dichtheid_per_km2"].tolist() == [10142.7, 5277.3]
    with_units = tmp_path / "met_eenheden.csv"
    with_units.write_text('"Regio";"Inwoners";"Dichtheid"\n"";"aantal";"per km2"\n"Amsterdam";"862965";"5277,3"\n')
    report = import_file(with_units, "zonder", schema=schema)
    assert any("are text only because of their first value: a row of units under the header?" in note for note in report.notes)
    import_file(with_units, "eenheden", schema=schema, skip_rows_after_header=1)
    assert al.read(f"SELECT * FROM {schema}.eenheden").iloc[0].tolist() == ["Amsterdam", 862965, 5277.3]
