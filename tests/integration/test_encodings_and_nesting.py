"""Encodings decided by evidence (and reported with it), nested columns stored as jsonb, and the choice of
columns: files written here, imported into the real PostGIS, stored text and values asserted."""

import codecs

import geopandas as gpd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

import analysis_lib as al
from analysis_lib.files import import_file

DAM = (121_380.0, 487_380.0)
NAMES = ["Café 't Hoekje", "Zoë’s “Bakkerij”", "€ 5 per maand"]


@pytest.mark.parametrize(
    ("encode", "name", "evidence"),
    [
        (lambda text: text.encode("utf-16"), "utf-16", "byte order mark"),  # Excel's "Unicode text"
        (lambda text: codecs.BOM_UTF8 + text.encode(), "utf-8", "byte order mark"),
        (lambda text: text.encode(), "utf-8", "valid UTF-8"),
        (lambda text: text.encode("cp1252"), "cp1252", "charset-normalizer among cp1252 and latin-1"),
    ],
    ids=["utf-16 with BOM", "utf-8 with BOM", "utf-8", "cp1252"],
)
def test_text_reads_back_as_written_in_every_encoding_and_the_report_says_why(tmp_path, schema, encode, name, evidence):
    path = tmp_path / "namen.csv"
    path.write_bytes(encode("id\tnaam\n" + "".join(f"{i}\t{n}\n" for i, n in enumerate(NAMES, 1))))
    report = import_file(path, "data", schema=schema)
    assert report.encoding.name == name and evidence in report.encoding.evidence
    assert f"encoding: {report.encoding}" in str(report)
    assert al.read(f"SELECT naam FROM {schema}.data ORDER BY id")["naam"].tolist() == NAMES


def test_latin1_is_chosen_when_a_byte_has_no_character_in_cp1252(tmp_path, schema):
    path = tmp_path / "oud.csv"
    path.write_bytes(b"id,code\n1,A\x81B\n2,Zo\xeb\n")
    report = import_file(path, "data", schema=schema)
    assert report.encoding.name == "latin-1" and "0x81 has no character in cp1252" in report.encoding.evidence
    assert al.read(f"SELECT code FROM {schema}.data ORDER BY id")["code"].tolist() == ["A\x81B", "Zoë"]


def test_a_shapefile_without_cpg_whose_language_byte_says_windows_ansi_keeps_its_euro_signs(tmp_path, schema):
    path = tmp_path / "winkels.shp"
    gpd.GeoDataFrame({"naam": NAMES}, geometry=[shapely.Point(DAM)] * 3, crs=28992).to_file(path, encoding="cp1252")
    path.with_suffix(".cpg").unlink()
    dbf = bytearray(path.with_suffix(".dbf").read_bytes())
    dbf[29] = 0x57  # "ANSI", which GDAL alone reads as ISO-8859-1: € and curly quotes become control characters
    path.with_suffix(".dbf").write_bytes(bytes(dbf))
    report = import_file(path, "data", schema=schema)
    assert report.encoding.name == "cp1252" and report.encoding.evidence.startswith("DBF language byte 0x57 (Windows ANSI)")
    assert sorted(al.read(f"SELECT naam FROM {schema}.data")["naam"]) == sorted(NAMES)


def test_a_cpg_saying_iso_8859_1_over_windows_bytes_reads_them_as_cp1252(tmp_path, schema):
    path = tmp_path / "labels.shp"
    gpd.GeoDataFrame({"naam": NAMES}, geometry=[shapely.Point(DAM)] * 3, crs=28992).to_file(path, encoding="cp1252")
    path.with_suffix(".cpg").write_text("ISO-8859-1")  # what many programs write over cp1252 text
    report = import_file(path, "data", schema=schema)
    assert report.encoding.name == "cp1252" and "bytes 0x80-0x9F, control characters there" in report.encoding.evidence
    assert sorted(al.read(f"SELECT naam FROM {schema}.data")["naam"]) == sorted(NAMES)


def test_geoparquet_bbox_structs_and_nested_geojson_properties_become_jsonb(tmp_path, schema):
    frame = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[shapely.Point(DAM), shapely.box(DAM[0], DAM[1], DAM[0] + 10, DAM[1] + 10)], crs=28992)
    parquet = tmp_path / "vormen.parquet"
    frame.to_parquet(parquet, write_covering_bbox=True)
    assert pa.types.is_struct(pq.read_schema(parquet).field("bbox").type)
    import_file(parquet, "data", schema=schema)
    back = al.read(f"SELECT id, bbox, pg_typeof(bbox)::text AS type FROM {schema}.data ORDER BY id")
    assert back["type"].tolist() == ["jsonb", "jsonb"]
    assert back["bbox"][1] == {"xmin": DAM[0], "ymin": DAM[1], "xmax": DAM[0] + 10, "ymax": DAM[1] + 10}
    geojson = tmp_path / "genest.geojson"
    geojson.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [4.9, 52.37]},'
        ' "properties": {"naam": "Dam", "adres": {"straat": "Dam", "nummer": 1}, "tags": ["plein", "centrum"]}}]}'
    )
    import_file(geojson, "genest", schema=schema)
    row = al.read(f"SELECT adres, pg_typeof(adres)::text AS type, tags FROM {schema}.genest").iloc[0]
    assert row["adres"] == {"straat": "Dam", "nummer": 1} and row["type"] == "jsonb"
    assert row["tags"] == ["plein", "centrum"]


def test_geoparquet_bounding_boxes_are_left_out_when_the_geometries_are_reprojected(tmp_path, schema):
    frame = gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.Point(4.89, 52.37)], crs=4326)
    parquet = tmp_path / "wgs84.parquet"
    frame.to_parquet(parquet, write_covering_bbox=True)
    report = import_file(parquet, "data", schema=schema)
    assert "column bbox (the geometries' bounding boxes, in the file's CRS) left out: the geometries are reprojected" in report.notes
    assert list(al.read(f"SELECT * FROM {schema}.data").columns) == ["id", "geometry"]


def test_a_geojson_property_of_mixed_kinds_keeps_every_value(tmp_path, schema):
    features = [
        f'{{"type": "Feature", "properties": {{"id": {i}, "huisnummer": {value}}}, "geometry": {{"type": "Point", "coordinates": [4.89, 52.37]}}}}'
        for i, value in enumerate(['12', '"12a"', '{"nr": 3}'])
    ]
    path = tmp_path / "adressen.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [' + ", ".join(features) + "]}")
    import_file(path, "data", schema=schema)
    assert al.read(f"SELECT huisnummer FROM {schema}.data ORDER BY id")["huisnummer"].tolist() == [12, "12a", {"nr": 3}]


def test_columns_chooses_what_is_imported(tmp_path, schema):
    path = tmp_path / "breed.gpkg"
    gpd.GeoDataFrame({"code": ["A"], "naam": ["Dam"], "intern": ["x"]}, geometry=[shapely.Point(DAM)], crs=28992).to_file(path)
    import_file(path, "data", schema=schema, columns=["naam", "code"])
    assert list(al.read(f"SELECT * FROM {schema}.data").columns) == ["naam", "code", "geom"]
    with pytest.raises(al.InputFileError, match=r"columns: no column 'Naam'; its columns: code, naam, intern"):
        import_file(path, "data2", schema=schema, columns=["Naam"])
