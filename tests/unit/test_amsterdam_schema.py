"""Amsterdam Schema table definitions (the city's JSON format) read into columns, types, key,
required fields and enums, on definitions written here in the format of the city's own files."""

import json

import pytest

from analysis_lib.catalog.amsterdam_schema import conformance, read_definition
from analysis_lib.catalog.spec import CatalogError, Entry


def definition(tmp_path, properties: dict, *, identifier=None, required=(), table_crs=None, dataset_crs="EPSG:28992"):
    folder = tmp_path / "gebieden" / "buurten"
    folder.mkdir(parents=True)
    if dataset_crs:
        (tmp_path / "gebieden" / "dataset.json").write_text(json.dumps({"type": "dataset", "id": "gebieden", "crs": dataset_crs}))
    table = {"id": "buurten", "type": "table", "version": "1.0.0",
             "schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": False,
                        "required": ["schema", *required], "display": "naam",
                        "properties": {"schema": {"$ref": "https://schemas.data.amsterdam.nl/schema@v4.0.0#/definitions/schema"},
                                       **properties}}}
    if identifier is not None:
        table["schema"]["identifier"] = identifier
    if table_crs:
        table["crs"] = table_crs
    path = folder / "v1.json"
    path.write_text(json.dumps(table, indent=2))
    return path


def test_fields_become_snake_case_columns_of_the_types_schema_tools_gives(tmp_path):
    path = definition(tmp_path, {
        "identificatie": {"type": "string"},
        "volgnummer": {"type": "integer"},
        "cbsCode": {"type": "string"},
        "oppervlakte": {"type": "number"},
        "bedrag": {"type": "number", "multipleOf": 0.01},
        "isActief": {"type": "boolean"},
        "documentdatum": {"type": "string", "format": "date"},
        "beginGeldigheid": {"type": "string", "format": "date-time"},
        "openingstijd": {"type": "string", "format": "time"},
        "geometrie": {"$ref": "https://geojson.org/schema/Polygon.json"},
        "ligtInWijk": {"type": "object", "relation": "gebieden:wijken", "properties": {"identificatie": {"type": "string"}}},
    }, identifier=["identificatie", "volgnummer"], required=["identificatie", "volgnummer"])
    read = read_definition(path)
    assert {f.column: f.type for f in read.fields} == {
        "identificatie": "text", "volgnummer": "bigint", "cbs_code": "text", "oppervlakte": "double precision",
        "bedrag": "numeric", "is_actief": "boolean", "documentdatum": "date", "begin_geldigheid": "timestamp",
        "openingstijd": "time", "geometrie": "geometry(Polygon, 28992)"}
    assert read.key == ("identificatie", "volgnummer")
    assert [f.column for f in read.fields if f.required] == ["identificatie", "volgnummer"]
    assert read.not_checked == ("ligt_in_wijk",)


def test_the_crs_of_the_table_or_field_wins_over_the_datasets(tmp_path):
    path = definition(tmp_path, {"punt": {"$ref": "https://geojson.org/schema/Point.json", "crs": "EPSG:4326"},
                                 "vlak": {"$ref": "https://geojson.org/schema/MultiPolygon.json"}}, table_crs="EPSG:7415")
    assert [f.geometry for f in read_definition(path).fields] == [("Point", 4326), ("MultiPolygon", 7415)]


def test_a_geometry_without_any_crs_is_refused(tmp_path):
    path = definition(tmp_path, {"geometrie": {"$ref": "https://geojson.org/schema/Point.json"}}, dataset_crs=None)
    with pytest.raises(CatalogError, match="geometrie: a geometry without a crs"):
        read_definition(path)


def test_the_file_must_have_the_fields_and_no_others_unless_the_entry_says(tmp_path):
    path = definition(tmp_path, {"code": {"type": "string"}, "naam": {"type": "string"},
                                 "status": {"type": "integer", "enum": [0, 1, 2]}}, required=["code"])
    read = read_definition(path)
    strict = Entry(path="b.csv", amsterdam_schema="def.json")
    with pytest.raises(CatalogError, match="columns that .* does not define: Extra"):
        conformance(read, ["Code", "naam", "status", "Extra"], strict, source="b")
    with pytest.raises(CatalogError, match="fields of .* that the file lacks: naam"):
        conformance(read, ["code", "status"], strict, source="b")
    lenient = Entry(path="b.csv", amsterdam_schema="def.json", columns_not_in_schema="drop", schema_fields_missing="null")
    fitted = conformance(read, ["Code", "status", "Extra"], lenient, source="b")
    assert fitted.loader_options["columns"] == ["Code", "status"]
    assert fitted.loader_options["column_types"] == {"code": "text", "status": "integer"}
    assert [c.kind for c in fitted.checks] == ["not_null", "sql"]
    assert fitted.checks[0].not_null == ["code"]
    assert "NOT IN ('0', '1', '2')" in fitted.checks[1].sql


def test_not_a_table_definition_is_refused(tmp_path):
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"type": "dataset", "id": "gebieden"}))
    with pytest.raises(CatalogError, match="not an Amsterdam Schema table definition"):
        read_definition(path)


def test_a_required_geometry_gets_a_not_null_check(tmp_path):
    path = definition(tmp_path, {"code": {"type": "string"}, "geometrie": {"$ref": "https://geojson.org/schema/Polygon.json"}},
                      required=["code", "geometrie"])
    fitted = conformance(read_definition(path), ["code"], Entry(path="b.gpkg", amsterdam_schema="d.json"), source="b")
    assert fitted.checks[0].not_null == ["code", "geometrie"]


def test_the_digest_follows_what_the_table_is_made_of_not_its_descriptions(tmp_path):
    path = definition(tmp_path, {"code": {"type": "string", "description": "de code"},
                                 "geometrie": {"$ref": "https://geojson.org/schema/Point.json"}})
    first = read_definition(path).digest
    path.write_text(path.read_text().replace("de code", "de officiele code"))
    assert read_definition(path).digest == first
    dataset = tmp_path / "gebieden" / "dataset.json"
    dataset.write_text(dataset.read_text().replace("EPSG:28992", "EPSG:7415"))  # the dataset's crs: the geometry's SRID
    assert read_definition(path).digest != first
