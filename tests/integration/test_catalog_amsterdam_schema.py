"""Entries that name an Amsterdam Schema table definition get its column names, types, key, required
fields and enums, built from files written here (a CSV as the city's API exports it, a GeoJSON)."""

from __future__ import annotations

import json

import pytest

from catalog_project import Project


@pytest.fixture
def project(tmp_path, schema):
    return Project(tmp_path, schema)


def write_definition(project: Project) -> str:
    folder = project.root / "schemas" / "afval"
    (folder / "containers").mkdir(parents=True)
    (folder / "dataset.json").write_text(json.dumps({"type": "dataset", "id": "afval", "crs": "EPSG:28992"}))
    (folder / "containers" / "v1.json").write_text(json.dumps({
        "id": "containers", "type": "table", "version": "1.0.0",
        "schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "identifier": "id",
                   "required": ["schema", "id", "fractieOmschrijving"], "mainGeometry": "geometrie",
                   "properties": {
                       "schema": {"$ref": "https://schemas.data.amsterdam.nl/schema@v4.0.0#/definitions/schema"},
                       "id": {"type": "string"},
                       "fractieOmschrijving": {"type": "string", "enum": ["Rest", "Papier", "Glas"]},
                       "volumeM3": {"type": "number"},
                       "aantalLedigingen": {"type": "integer"},
                       "plaatsingsdatum": {"type": "string", "format": "date"},
                       "geometrie": {"$ref": "https://geojson.org/schema/Point.json"}}}}))
    return "schemas/afval/containers/v1.json"


HEADER = "id;fractieOmschrijving;volumeM3;aantalLedigingen;plaatsingsdatum;x;y\n"
ROWS = "0012;Rest;1,5;12;2021-03-01;121000;487000\n0013;Glas;3;4;2022-11-30;121100;487100\n"


def test_a_definition_gives_names_types_key_and_checks(project):
    definition = write_definition(project)
    project.raw("containers.csv", HEADER + ROWS)
    project.catalog({"containers": {"path": "containers.csv", "amsterdam_schema": definition, "crs": "EPSG:28992", "x": "x", "y": "y"}})
    result = project.build()
    assert result.ok, result.outcomes
    s = project.schema
    columns = dict(project.query(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = :t ::regclass AND attnum > 0 AND NOT attisdropped",
        {"t": f"{s}.containers"}))
    assert columns == {"id": "text", "fractie_omschrijving": "text", "volume_m3": "double precision", "aantal_ledigingen": "bigint",
                       "plaatsingsdatum": "date", "geometrie": "geometry(Point,28992)"}
    assert project.query(f"SELECT id, volume_m3, aantal_ledigingen FROM {s}.containers ORDER BY id") == [("0012", 1.5, 12), ("0013", 3.0, 4)]
    key = project.query("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = :t ::regclass AND contype = 'p'",
                        {"t": f"{s}.containers"})
    assert key == [("PRIMARY KEY (id)",)]


@pytest.mark.parametrize(("rows", "says"), [
    ("0012;Plastic;1;1;2021-03-01;121000;487000\n", "fractie_omschrijving"),  # not one of the enum
    (";Rest;1;1;2021-03-01;121000;487000\n", "not_null id"),  # a required field empty
    ("0012;Rest;1;1,5;2021-03-01;121000;487000\n", "row 1, column aantalLedigingen: '1,5' is not an integer"),
])
def test_values_the_definition_does_not_allow_stop_the_build(project, rows, says):
    definition = write_definition(project)
    project.raw("containers.csv", HEADER + rows)
    project.catalog({"containers": {"path": "containers.csv", "amsterdam_schema": definition, "crs": "EPSG:28992", "x": "x", "y": "y"}})
    outcome = project.build().outcomes[0]
    assert outcome.result == "failed" and says in outcome.message
    assert project.query(f"SELECT to_regclass('{project.schema}.containers')") == [(None,)]


def test_a_field_the_file_lacks_and_a_column_the_schema_lacks_are_errors_unless_the_entry_says(project):
    definition = write_definition(project)
    project.raw("containers.csv", "id;fractieOmschrijving;kleur;x;y\n0012;Rest;groen;121000;487000\n")
    base = {"path": "containers.csv", "amsterdam_schema": definition, "crs": "EPSG:28992", "x": "x", "y": "y"}
    project.catalog({"containers": base})
    message = project.build().outcomes[0].message
    assert "columns that schemas/afval/containers/v1.json does not define: kleur" in message
    project.catalog({"containers": {**base, "columns_not_in_schema": "drop"}})
    message = project.build().outcomes[0].message
    assert "fields of schemas/afval/containers/v1.json that the file lacks: volumeM3, aantalLedigingen, plaatsingsdatum" in message
    project.catalog({"containers": {**base, "columns_not_in_schema": "drop", "schema_fields_missing": "null"}})
    assert project.build().ok
    assert project.query(f"SELECT id, fractie_omschrijving, volume_m3, plaatsingsdatum FROM {project.schema}.containers") == [
        ("0012", "Rest", None, None)]
    assert "kleur" not in project.current("containers")["columns"]


def test_a_changed_definition_makes_its_table_stale(project):
    definition = write_definition(project)
    project.raw("containers.csv", HEADER + ROWS)
    project.catalog({"containers": {"path": "containers.csv", "amsterdam_schema": definition, "crs": "EPSG:28992", "x": "x", "y": "y"}})
    assert project.build().ok
    path = project.root / definition
    path.write_text(path.read_text().replace('"Glas"]', '"Glas", "Textiel"]'))
    assert project.build(dry_run=True).outcomes[0].message == "Amsterdam Schema definition changed"
