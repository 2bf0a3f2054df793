"""The bad-input catalogue: each bad or edge input, made here in a temporary folder, gets a clear error
that names the file, row, column or parameter at fault, and leaves the database exactly as it was.

Every case runs against a schema that already holds a table ``target``; the snapshot of that schema
(tables and a checksum of their rows) must be the same after the failed import.
"""

import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import shapely.affinity

import analysis_lib as al
from analysis_lib.files import import_file
from db_snapshot import snapshot

BOWTIE = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])


@dataclass
class Case:
    """Writes its file(s) into ``folder``; returns the path and import_file's keyword arguments."""

    make: callable
    error: str  # a regular expression the message must match
    kwargs: dict = field(default_factory=dict)


def text_file(name: str, text: str | bytes):
    def make(folder: Path):
        path = folder / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path

    return make


def frame_file(name: str, frame: gpd.GeoDataFrame, **write_options):
    def make(folder: Path):
        path = folder / name
        frame.to_file(path, **write_options)
        return path

    return make


def rd(geometries, **columns) -> gpd.GeoDataFrame:
    """Geometries drawn near (0, 0), moved to the Dam in RD New coordinates."""
    moved = [shapely.affinity.translate(g, 121_000, 487_000) for g in geometries]
    return gpd.GeoDataFrame({"id": range(1, len(geometries) + 1), **columns}, geometry=moved, crs="EPSG:28992")


def shapefile_without_prj(folder: Path):
    path = frame_file("noprj.shp", rd([shapely.Point(1, 2)]))(folder)
    path.with_suffix(".prj").unlink()
    return path


def shapefile_without_shx(folder: Path):
    path = frame_file("noshx.shp", rd([shapely.Point(1, 2)]))(folder)
    path.with_suffix(".shx").unlink()
    return path


def two_layer_geopackage(folder: Path):
    path = folder / "two.gpkg"
    rd([shapely.Point(1, 2)]).to_file(path, layer="buurten")
    rd([shapely.Point(3, 4)]).to_file(path, layer="wijken")
    return path


def corrupt_zip(folder: Path):
    path = folder / "broken.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("broken.shp", b"not a shapefile at all")
    path.write_bytes(path.read_bytes()[:-30])
    return path


def two_point_ring_geopackage(folder: Path):
    """A polygon whose ring has two points, as some shapefiles in the wild have: GDAL writes it, shapely cannot read it."""
    ring = struct.pack("<2d", 0, 0) + struct.pack("<2d", 1, 1)
    polygon = struct.pack("<BIII", 1, 3, 1, 2) + ring
    good = shapely.to_wkb(shapely.box(0, 0, 1, 1))
    path = folder / "ring.gpkg"
    pyogrio.raw.write(
        path, geometry=np.array([good, good, polygon], dtype=object), field_data=[np.array([1, 2, 3])], fields=["id"],
        geometry_type="Polygon", crs="EPSG:28992", driver="GPKG",
    )
    return path


def mixed_encoding_csv(folder: Path):
    """UTF-8, but for two lines pasted in from a cp1252 export."""
    lines = ["naam", "Zoë", "Crème", "Café", "Noël", "Brûlée"]
    raw = b"".join(line.encode("cp1252" if i in (3, 5) else "utf-8") + b"\n" for i, line in enumerate(lines))
    return text_file("gemengd.csv", raw)(folder)


def utf8_shapefile_labelled_cp1252(folder: Path):
    path = frame_file("namen.shp", rd([shapely.Point(0, 0)], naam=["Гренада"]))(folder)
    path.with_suffix(".cpg").write_text("CP1252")
    return path


def z_in_a_later_batch_geopackage(folder: Path):
    flat = [shapely.Point(i, i) for i in range(5)]
    return frame_file("laat_z.gpkg", rd(flat + [shapely.Point(9, 9, 1)]))(folder)


def three_d_unknown_geopackage(folder: Path):
    """A GeoPackage layer of type "Geometry Z", as QGIS writes them: GDAL calls it 3D Unknown."""
    import sqlite3

    path = frame_file("bouw3d.gpkg", rd([shapely.Point(0, 0, 1)]))(folder)
    with sqlite3.connect(path) as database:
        database.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = 'GEOMETRY', z = 1")
    return path


def late_bad_integer_csv(folder: Path):
    rows = "\n".join(f"{i},{i * 10}" for i in range(1, 200_001))
    return text_file("late.csv", f"id,waarde\n{rows}\n200001,veel\n")(folder)


CASES = {
    "missing file": Case(lambda folder: folder / "nowhere.csv", r"nowhere\.csv: no such file"),
    "a separator that leaves the header whole": Case(
        text_file("comma.csv", "code,naam\n0363,Centrum\n"),
        r"comma\.csv: separator ';' leaves the header in one column \('code,naam'\); the file looks separated by ','",
        {"separator": ";"},
    ),
    "csv options for a geojson": Case(
        text_file("p.geojson", '{"type": "FeatureCollection", "features": []}'),
        r"p\.geojson: separator, skip_rows apply to CSV files only, not to \.geojson files",
        {"skip_rows": 2, "separator": ";"},
    ),
    "unsupported extension": Case(text_file("notes.docx", "x"), r"notes\.docx: cannot import \.docx files; supported: "),
    "empty csv": Case(text_file("empty.csv", b""), r"empty\.csv: the file is empty"),
    "header-only csv": Case(text_file("header.csv", "a,b\n"), r"header\.csv: no rows to import"),
    "ragged csv row": Case(text_file("ragged.csv", "a,b\n1,2\n3,4,5\n"), r"ragged\.csv: .*Expected 2 columns, got 3"),
    "bad wkt": Case(
        text_file("wkt.csv", "naam,wkt\nA,POINT (1 2)\nB,POINT (3 4)\nC,POINT (1\n"),
        r"wkt\.csv: row 3, column wkt: not WKT: 'POINT \(1'",
        {"crs": "EPSG:28992"},
    ),
    "non-numeric x": Case(
        text_file("xy.csv", "naam;x;y\nA;1;2\nB;twee;3\n"), r"xy\.csv: row 2, column x: not a number: 'twee'", {"crs": "EPSG:28992"}
    ),
    "x without y": Case(text_file("x.csv", "a,b\n1,2\n"), r"x\.csv: give both x= and y= \(got x only\)", {"x": "a"}),
    "geometry column missing": Case(
        text_file("w.csv", "a,b\n1,2\n"), r"w\.csv: geometry='geo' is not a column; columns: a, b", {"geometry": "geo"}
    ),
    "csv without crs": Case(text_file("nocrs.csv", "id,wkt\n1,POINT (1 2)\n"), r"nocrs\.csv has no coordinate reference system: pass crs="),
    "shapefile without .prj": Case(shapefile_without_prj, r"noprj\.shp has no coordinate reference system: pass crs="),
    "shapefile without .shx": Case(shapefile_without_shx, r"noshx\.shp"),
    "corrupt zip": Case(corrupt_zip, r"broken\.zip: cannot be read as \.zip"),
    "two layers, none chosen": Case(two_layer_geopackage, r"two\.gpkg has 2 layers; choose one with layer=: buurten, wijken"),
    "unknown layer": Case(two_layer_geopackage, r"two\.gpkg has no layer 'straten'; its layers: buurten, wijken", {"layer": "straten"}),
    "invalid geometry": Case(
        frame_file("bowtie.gpkg", rd([shapely.box(0, 0, 1, 1), BOWTIE])),
        r"bowtie\.gpkg column geom: 1 invalid geometry \(rows 2; first: Self-intersection.*\); pass make_valid=True",
    ),
    "point after polygons, in a later batch, where polygons were asked for": Case(
        frame_file("mixed.geojson", rd([shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2), shapely.Point(5, 5)])),
        r"mixed\.geojson column geom: row 3 is a Point in a Polygon column; pass geometry_type='Geometry'",
        {"batch_size": 2, "geometry_type": "Polygon"},
    ),
    "unreadable geometry": Case(two_point_ring_geopackage, r"ring\.gpkg: row 3: the geometry cannot be read \(.*LinearRing.*\)"),
    "2D among 3D points": Case(
        frame_file("z.gpkg", rd([shapely.Point(1, 2, 3), shapely.Point(4, 5)])),
        r"z\.gpkg column geom: row 1 has Z and row 2 has none; pass z='drop'",
    ),
    "table name with sql in it": Case(
        text_file("ok.csv", "a\n1\n"), r"table name 'x; drop table y' is not allowed", {"table": "x; drop table y"}
    ),
    "table exists": Case(text_file("ok.csv", "a\n1\n"), r"table test_\w+\.target already exists; pass if_exists='replace'", {"if_exists": "fail"}),
    "unknown if_exists": Case(text_file("ok.csv", "a\n1\n"), r"if_exists='overwrite' is not one of fail, replace, append", {"if_exists": "overwrite"}),
    "append with a column the table lacks": Case(
        frame_file("extra.gpkg", rd([shapely.Point(1, 2)], extra=["x"])),
        r"cannot append to test_\w+\.target: it has no column extra",
        {"if_exists": "append"},
    ),
    "append in another crs": Case(
        frame_file("wgs.gpkg", rd([shapely.Point(0, 0)])),
        r"cannot append to test_\w+\.target: column geom is geometry\(Point,28992\), the data is in EPSG:4326; pass target_crs='EPSG:28992'",
        {"if_exists": "append", "target_crs": "EPSG:4326"},
    ),
    "duplicate primary key": Case(
        text_file("dup.csv", "code,n\nA,1\nB,2\nA,3\n"), r"could not create unique index.*Key \(code\)=\(A\) is duplicated", {"primary_key": "code"}
    ),
    "primary key column missing": Case(text_file("pk.csv", "code,n\nA,1\n"), r"primary_key: no column buurt in the data", {"primary_key": "buurt"}),
    "declared encoding is wrong": Case(
        text_file("cp.csv", "naam\nabc\nCafé\n".encode("cp1252")), r"cp\.csv: line 3 is not valid utf-8", {"encoding": "utf-8"}
    ),
    "unknown encoding": Case(text_file("enc.csv", "a\n1\n"), r"encoding='klingon' is not a known encoding", {"encoding": "klingon"}),
    "crs that does not exist": Case(
        text_file("c.csv", "id,wkt\n1,POINT (1 2)\n"), r"crs='EPSG:999999' is not a coordinate reference system", {"crs": "EPSG:999999"}
    ),
    "crs contradicting the file": Case(
        frame_file("rd.gpkg", rd([shapely.Point(1, 2)])), r"rd\.gpkg: crs='EPSG:4326' contradicts its own CRS 'Amersfoort / RD New'", {"crs": "EPSG:4326"}
    ),
    "a value that is not the type chosen for its column, in a late block": Case(
        late_bad_integer_csv, r"late\.csv: row 200001, column waarde: 'veel' is not an integer", {"batch_size": 1000, "column_types": {"waarde": "integer"}}
    ),
    "two ways to make geometries": Case(
        text_file("bakken.csv", "id,geometrie_origineel,lon,lat\n1,POINT (121380 487380),4.89,52.37\n"),
        r"bakken\.csv: 2 ways to make geometries: column geometrie_origineel \(WKT\); columns lon/lat \(x/y\)\. Choose one: geometry=",
    ),
    "geometry and x/y both given": Case(
        text_file("beide.csv", "id,wkt,x,y\n1,POINT (121380 487380),121380,487380\n"), r"beide\.csv: give geometry= or x=/y=, not both",
        {"geometry": "wkt", "x": "x", "y": "y"},
    ),
    "degrees declared as RD New": Case(
        text_file("graden.csv", "id;x;y\n1;4,89;52,37\n"),
        r"graden\.csv column geom: 1 of 1 geometries lie outside the area where EPSG:28992 .* did you mean crs='EPSG:4326'\? Nothing was loaded",
        {"crs": "EPSG:28992"},
    ),
    "RD x and y swapped": Case(
        text_file("omgedraaid.csv", "id;x;y\n1;487380;121380\n"), r"omgedraaid\.csv column geom: .*x and y look swapped", {"crs": "EPSG:28992"}
    ),
    "values with different SRIDs": Case(
        text_file("srids.csv", 'id;wkt\n1;"SRID=28992;POINT(121380 487380)"\n2;"SRID=4326;POINT(4.89 52.37)"\n'),
        r"srids\.csv column wkt: the values carry different SRIDs \(4326, 28992\); one CRS per column",
    ),
    "a UTF-8 file with a few cp1252 lines": Case(
        mixed_encoding_csv, r"gemengd\.csv: lines 4, 6 \(2 in all\) are not valid UTF-8, while the rest of the file is UTF-8"
    ),
    "UTF-8 text under a .cpg that says CP1252": Case(
        utf8_shapefile_labelled_cp1252, r"namen\.shp: its \.cpg file \('CP1252'\) says cp1252, but the text is valid UTF-8"
    ),
    "two exports pasted together": Case(
        text_file("twee.csv", "id,naam\n1,Dam\nid,naam\n2,Rokin\n"), r"twee\.csv: row 2 repeats the header \(id, naam\): two files pasted together\?"
    ),
    "a layer type the reader has no name for": Case(
        three_d_unknown_geopackage, r"bouw3d\.gpkg: the layer's geometry type cannot be read here \(.*\); write the layer with a plain type first"
    ),
    "Z in a later batch": Case(z_in_a_later_batch_geopackage, r"laat_z\.gpkg column geom: row 6 has Z and row 1 has none", {"batch_size": 2}),
    "a column to import that is not there": Case(
        text_file("kolommen.csv", "code,naam\nA,Dam\n"), r"kolommen\.csv: columns: no column 'buurt'; its columns: code, naam",
        {"columns": ["code", "buurt"]},
    ),
    "column_types naming a column that is not there": Case(
        text_file("typo.csv", "postcode,naam\n1011,Dam\n"), r"typo\.csv: column_types: no column 'postcde' to import; its columns: postcode, naam",
        {"column_types": {"postcde": "text"}},
    ),
    "crs given, but no geometry to be found": Case(
        text_file("geen_punten.csv", "id;rdx;rdy\n1;121380;487380\n"),
        r"geen_punten\.csv: crs= was given, but no column holds geometries; its columns: id, rdx, rdy\. Name them with geometry=",
        {"crs": "EPSG:28992"},
    ),
    "a column type that does not exist": Case(
        text_file("typen.csv", "code\nA\n"), r"column_types: 'code': 'getal' is not one of text, integer, float", {"column_types": {"code": "getal"}}
    ),
}


@pytest.fixture
def target(schema):
    al.load(rd([shapely.Point(0, 0), shapely.Point(100, 100)]).rename_geometry("geom"), "target", schema=schema)
    return schema


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_named_and_changes_nothing(case, target, tmp_path):
    before = snapshot(target)
    path = case.make(tmp_path)
    options = {"table": "target", "schema": target, "if_exists": "replace", **case.kwargs}
    with pytest.raises(al.LoadError, match=case.error):
        import_file(path, progress=False, **options)
    assert snapshot(target) == before


def test_the_catalogue_has_at_least_twenty_cases():
    assert len(CASES) >= 20


def test_load_refuses_what_is_not_a_dataframe(target):
    with pytest.raises(al.LoadError, match="takes a pandas DataFrame or GeoDataFrame, not list"):
        al.load([1, 2, 3], "target", schema=target, if_exists="replace")


def test_load_refuses_a_geodataframe_without_crs(target):
    before = snapshot(target)
    frame = gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.Point(1, 2)])
    with pytest.raises(al.LoadError, match="the GeoDataFrame has no coordinate reference system: pass crs="):
        al.load(frame, "target", schema=target, if_exists="replace")
    assert snapshot(target) == before


def test_load_names_a_column_pandas_cannot_convert(target):
    before = snapshot(target)
    frame = pd.DataFrame({"mixed": [1, "twee", 3.0]})
    with pytest.raises(al.LoadError, match=r"row 2, column mixed: .*'twee'"):
        al.load(frame, "target", schema=target, if_exists="replace")
    assert snapshot(target) == before
