"""Column types decided over the whole input, on files the tests write: codes keep their leading zeros,
a column empty for its first blocks takes its type from the values after, XLSX text cells stay text,
a DataFrame is typed as a whole, and column_types / --type choose."""

import datetime as dt
import decimal
import subprocess
import sys

import numpy as np
import pandas as pd
import pyogrio
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis_lib as al
from analysis_lib.files import import_file


def stored_types(schema: str, table: str = "data") -> dict[str, str]:
    frame = al.read_sql(
        "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
        " WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        {"t": f"{schema}.{table}"},
    )
    return dict(zip(frame["attname"], frame["type"], strict=True))


def test_codes_with_leading_zeros_stay_text_and_numbers_become_numbers(tmp_path, schema):
    path = tmp_path / "adressen.csv"
    path.write_text(
        "bag_id;gemeentecode;netnummer;postcode;huisnummer;oppervlakte;peildatum;actief;nul\n"
        "0363010000543211;0363;020;1011AB;12;45,5;2024-01-31;true;0\n"
        "0363010000543212;0014;010;1012CD;7;;2024-02-29;false;0\n"
        "0363010000543213;0363;020;1013EF;101;120;2024-03-31;true;10\n"
    )
    import_file(path, "data", schema=schema)
    assert stored_types(schema) == {
        "bag_id": "text", "gemeentecode": "text", "netnummer": "text", "postcode": "text", "huisnummer": "bigint",
        "oppervlakte": "double precision", "peildatum": "date", "actief": "boolean", "nul": "bigint",
    }
    frame = al.read(f"SELECT * FROM {schema}.data ORDER BY bag_id")
    assert frame["bag_id"].tolist() == ["0363010000543211", "0363010000543212", "0363010000543213"]
    assert frame["gemeentecode"].tolist() == ["0363", "0014", "0363"]
    assert frame["netnummer"].tolist() == ["020", "010", "020"]
    assert frame["oppervlakte"].tolist()[::2] == [45.5, 120.0] and pd.isna(frame["oppervlakte"][1])
    assert frame["peildatum"].tolist() == [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)]
    assert frame["nul"].tolist() == [0, 0, 10]


def test_a_column_empty_for_its_first_blocks_takes_its_type_from_the_values_after(tmp_path, schema):
    path = tmp_path / "laat.csv"
    rows = 150_000  # more than one of Arrow's 1 MiB blocks
    lines = [f"{i},,,\n" for i in range(1, rows)] + [f"{rows},0363,12.5,nooit\n"]
    path.write_text("id,code,bedrag,leeg_tot_het_eind\n" + "".join(lines))
    report = import_file(path, "data", schema=schema, batch_size=1000)
    assert report.rows == rows
    assert stored_types(schema) == {"id": "bigint", "code": "text", "bedrag": "double precision", "leeg_tot_het_eind": "text"}
    last = al.read(f"SELECT * FROM {schema}.data WHERE id = {rows}").iloc[0]
    assert (last["code"], last["bedrag"], last["leeg_tot_het_eind"]) == ("0363", 12.5, "nooit")
    assert al.read_sql(f"SELECT count(code) AS n FROM {schema}.data")["n"][0] == 1


def test_missing_booleans_are_null_not_false(tmp_path, schema):
    path = tmp_path / "vlaggen.csv"
    path.write_text("id,actief\n1,true\n2,\n3,NA\n4,false\n")
    import_file(path, "data", schema=schema)
    stored = al.read(f"SELECT actief FROM {schema}.data ORDER BY id")["actief"]
    assert [None if pd.isna(v) else v for v in stored] == [True, None, None, False]


def test_repeated_header_names_all_get_a_column(tmp_path, schema):
    path = tmp_path / "dubbel.csv"
    path.write_text("id,a,a,a_2\n1,x,y,z\n")
    report = import_file(path, "data", schema=schema)
    assert list(report.columns.values()) == ["id", "a", "a_3", "a_2"]
    assert al.read(f"SELECT * FROM {schema}.data").iloc[0].tolist() == [1, "x", "y", "z"]


def test_ids_beyond_float_precision_survive_a_sentinel_check(tmp_path, schema):
    path = tmp_path / "ids.csv"
    path.write_text("id,inwoners\n123456789012345678,-99999999\n123456789012345679,12\n")
    import_file(path, "data", schema=schema, null_values=[-99999999])
    frame = al.read(f"SELECT * FROM {schema}.data ORDER BY id")
    assert frame["id"].tolist() == [123456789012345678, 123456789012345679]
    assert frame["inwoners"].isna().tolist() == [True, False]


def test_a_column_with_no_values_at_all_is_text(tmp_path, schema):
    path = tmp_path / "leeg.csv"
    path.write_text("id,opmerking\n1,\n2,\n")
    import_file(path, "data", schema=schema)
    assert stored_types(schema)["opmerking"] == "text"


def test_missing_value_markers_in_number_columns_become_null_and_are_counted(tmp_path, schema):
    path = tmp_path / "kerncijfers.csv"
    path.write_text('"code","inwoners","dichtheid","naam"\n"GM0363    ","862965","5277.3","NA"\n"WK036300  ","NA","   .","Centrum"\n')
    report = import_file(path, "data", schema=schema)
    frame = al.read(f"SELECT * FROM {schema}.data ORDER BY code")
    assert frame["code"].tolist() == ["GM0363    ", "WK036300  "]  # codes as written, padding and all
    assert frame["inwoners"].tolist()[0] == 862965 and pd.isna(frame["inwoners"][1])
    assert pd.isna(frame["dichtheid"][1])
    assert frame["naam"].tolist() == ["NA", "Centrum"]  # in a text column "NA" is text
    assert "missing-value markers (NA, NULL, . …) stored as NULL: inwoners 1, dichtheid 1" in str(report)


def test_decimal_commas_in_a_comma_separated_file_are_pointed_out(tmp_path, schema):
    path = tmp_path / "gemiddelden.csv"
    path.write_text('buurt,huishoudgrootte,inwoners\nA,"2,1",120\nB,"1,8",95\n')
    report = import_file(path, "data", schema=schema)
    assert "columns huishoudgrootte hold numbers with a decimal comma, stored as text; decimal=',' (--decimal ,) reads them as numbers" in report.notes
    import_file(path, "data", schema=schema, decimal=",", if_exists="replace")
    assert al.read(f"SELECT huishoudgrootte FROM {schema}.data ORDER BY buurt")["huishoudgrootte"].tolist() == [2.1, 1.8]


def test_sentinels_given_as_text_apply_to_number_columns_and_are_counted(tmp_path, schema):
    path = tmp_path / "kerncijfers.csv"
    path.write_text("code,inwoners\nBU01,-99999999\nBU02,1200\n")
    report = import_file(path, "data", schema=schema, null_values=["-99999999"])
    assert al.read(f"SELECT inwoners FROM {schema}.data ORDER BY code")["inwoners"].isna().tolist() == [True, False]
    assert "null_values ('-99999999') stored as NULL: inwoners 1" in report.notes
    path.write_text("code;dichtheid\nBU01;-99999999\nBU02;12,5\n")
    report = import_file(path, "data", schema=schema, null_values=[-99999999], if_exists="replace")
    assert "null_values (-99999999) stored as NULL: dichtheid 1" in report.notes


def test_column_types_choose_over_what_the_values_say(tmp_path, schema):
    path = tmp_path / "gekozen.csv"
    path.write_text("postcode_cijfers,bedrag,vlag,moment,code\n1011,12.25,ja,2024-03-01 12:00:00,0363\n1012,3.5,nee,2024-03-02T08:30:00,0014\n")
    import_file(
        path, "data", schema=schema,
        column_types={"postcode_cijfers": "text", "bedrag": "numeric", "vlag": "boolean", "moment": "timestamp", "code": "integer"},
    )
    types = stored_types(schema)
    assert types["postcode_cijfers"] == "text" and types["bedrag"] == "numeric" and types["vlag"] == "boolean"
    assert types["moment"] == "timestamp without time zone" and types["code"] == "bigint"
    frame = al.read(f"SELECT * FROM {schema}.data ORDER BY postcode_cijfers")
    assert frame["postcode_cijfers"].tolist() == ["1011", "1012"]
    assert frame["bedrag"].tolist() == [decimal.Decimal("12.25"), decimal.Decimal("3.50")]
    assert frame["vlag"].tolist() == [True, False]
    assert frame["moment"].tolist() == [pd.Timestamp("2024-03-01 12:00:00"), pd.Timestamp("2024-03-02 08:30:00")]
    assert frame["code"].tolist() == [363, 14]


def test_times_with_utc_offsets_become_timestamptz(tmp_path, schema):
    path = tmp_path / "tijden.csv"
    path.write_text("gemeld\n2024-03-31T01:30:00+01:00\n2024-10-27T02:30:00Z\n")
    import_file(path, "data", schema=schema)
    assert stored_types(schema)["gemeld"] == "timestamp with time zone"
    assert al.read(f"SELECT * FROM {schema}.data")["gemeld"].tolist() == [
        pd.Timestamp("2024-03-31 00:30", tz="UTC"), pd.Timestamp("2024-10-27 02:30", tz="UTC"),
    ]


def test_command_line_type_and_columns(tmp_path, schema):
    path = tmp_path / "codes.csv"
    path.write_text("code,naam,overbodig\n1011,Centrum,x\n1012,West,y\n")
    done = subprocess.run(
        [sys.executable, "-m", "analysis_lib", "load", str(path), "--table", "data", "--schema", schema,
         "--type", "code=text", "--columns", "code,naam"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert stored_types(schema) == {"code": "text", "naam": "text"}
    bad = subprocess.run(
        [sys.executable, "-m", "analysis_lib", "load", str(path), "--table", "data2", "--schema", schema, "--type", "code=getal"],
        capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode == 2 and "'code=getal': give COLUMN=TYPE, TYPE one of text, integer" in bad.stderr


def test_xlsx_text_cells_stay_text_and_the_first_row_is_the_header(tmp_path, schema):
    path = tmp_path / "codes.xlsx"
    frame = pd.DataFrame({"gemeentecode": ["0363", "0014"], "naam": ["Amsterdam", "Groningen"], "inwoners": [931298, 243768]})
    pyogrio.write_dataframe(frame, path, driver="XLSX", layer="gemeenten")
    import_file(path, "data", schema=schema)
    assert stored_types(schema) == {"gemeentecode": "text", "naam": "text", "inwoners": "integer"}
    assert al.read(f"SELECT * FROM {schema}.data ORDER BY naam").to_dict("list") == {
        "gemeentecode": ["0363", "0014"], "naam": ["Amsterdam", "Groningen"], "inwoners": [931298, 243768],
    }
    only_text = tmp_path / "alleen_tekst.xlsx"  # every cell text: GDAL alone would take the header for data
    pyogrio.write_dataframe(pd.DataFrame({"code": ["0363", "0014"]}), only_text, driver="XLSX")
    import_file(only_text, "tekst", schema=schema)
    assert al.read(f"SELECT * FROM {schema}.tekst")["code"].tolist() == ["0363", "0014"]
    pyogrio.write_dataframe(pd.DataFrame({"buurt": ["A01", "A02"], "code": ["0363", "0014"]}), path, driver="XLSX", layer="tweede", append=True)
    import_file(path, "tweede", schema=schema, layer="tweede")  # GDAL's HEADERS open option reaches the first sheet only
    assert al.read(f"SELECT * FROM {schema}.tweede ORDER BY buurt").to_dict("list") == {"buurt": ["A01", "A02"], "code": ["0363", "0014"]}


def test_nested_frame_values_keep_their_numbers_and_their_gaps(schema):
    extra = {
        "n": np.int64(5), "r": np.float64("nan"), "d": dt.date(2024, 1, 2), "t": np.datetime64("2024-05-01T12:00:00.000000000"),
        "leeg": pd.NaT, "punten": [(4.9, 52.3), (4.9, 52.3)], "bedrag": decimal.Decimal("0.10"),
    }
    frame = pd.DataFrame({"id": [1, 2, 3], "extra": [extra, pd.NA, None]})
    al.load(frame, "data", schema=schema)
    back = al.read(f"SELECT extra, extra IS NULL AS leeg FROM {schema}.data ORDER BY id")
    assert back["extra"][0] == {
        "n": 5, "r": None, "d": "2024-01-02", "t": "2024-05-01T12:00:00", "leeg": None, "punten": [[4.9, 52.3], [4.9, 52.3]], "bedrag": "0.10",
    }
    assert back["leeg"].tolist() == [False, True, True]


def test_a_dataframe_is_typed_as_a_whole_not_by_its_first_slice(schema):
    n = 120_000  # more than two of load's 50,000-row slices
    frame = pd.DataFrame({"id": np.arange(n), "opmerking": pd.Series([None] * (n - 1) + ["laat"], dtype=object)})
    al.load(frame, "data", schema=schema)
    assert stored_types(schema)["opmerking"] == "text"
    assert al.read(f"SELECT opmerking FROM {schema}.data WHERE id = {n - 1}")["opmerking"][0] == "laat"


CODES = st.one_of(
    st.from_regex(r"0[0-9]{1,15}", fullmatch=True),  # leading zeros
    st.from_regex(r"[1-9][0-9]{0,5}", fullmatch=True),
    st.from_regex(r"[A-Z]{2}[0-9]{2,4}", fullmatch=True),  # codes mixing letters and digits
    st.text(alphabet="abcdeé ,;\"'", min_size=1, max_size=8).filter(lambda t: t.strip() == t and t.strip()),
)


@st.composite
def text_frames(draw):
    rows = draw(st.integers(1, 40))
    leading_empties = draw(st.integers(0, rows - 1))
    columns = {}
    for name in ("a", "b", "c"):
        values = [None] * leading_empties + draw(st.lists(st.none() | CODES, min_size=rows - leading_empties, max_size=rows - leading_empties))
        columns[name] = values
    return pd.DataFrame(columns, dtype=object)


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frame=text_frames())
def test_text_written_by_pandas_reads_back_as_the_same_text(tmp_path, schema, frame):
    """Digit strings with leading zeros, codes, empties and long runs of empties before the first value:
    written to CSV by pandas and imported, a column that was text anywhere reads back equal, as text."""
    path = tmp_path / "tekst.csv"
    frame.to_csv(path, index=False)
    import_file(path, "data", schema=schema, if_exists="replace")
    back = al.read(f"SELECT * FROM {schema}.data")
    for name in frame.columns:
        present = [v for v in frame[name] if v is not None]
        if any(not v.isdigit() or (v.startswith("0") and len(v) > 1) for v in present) or not present:
            assert stored_types(schema)[name] == "text", name
            assert [None if pd.isna(v) else v for v in back[name]] == frame[name].tolist(), name
        else:  # only plain numbers: stored as numbers, with the same values
            assert [None if pd.isna(v) else str(v) for v in back[name]] == frame[name].tolist(), name


def test_an_append_takes_the_types_of_the_table_and_names_what_does_not_fit(tmp_path, schema):
    """The monthly-export pattern: the first file happened to hold only whole numbers and no leading zeros."""
    first = tmp_path / "januari.csv"
    first.write_text("code,aantal,bedrag,dag\n0363,12,10,2024-01-31\n")
    import_file(first, "data", schema=schema, column_types={"code": "text"})
    second = tmp_path / "februari.csv"
    second.write_text("code,aantal,bedrag,dag\n363,7,3.5,2024-02-29\n")
    with pytest.raises(al.InputFileError, match=r"februari\.csv: row 1, column bedrag: '3\.5' is not an integer"):
        import_file(second, "data", schema=schema, if_exists="append")
    second.write_text("code,aantal,bedrag,dag\n0014,7,3,2024-02-29 13:45:00\n")
    with pytest.raises(al.InputFileError, match=r"row 1, column dag: '2024-02-29 13:45:00' is not a date"):
        import_file(second, "data", schema=schema, if_exists="append")
    second.write_text("code,aantal,bedrag,dag\n0014,7,3,2024-02-29\n")
    import_file(second, "data", schema=schema, if_exists="append")
    frame = al.read(f"SELECT * FROM {schema}.data ORDER BY dag")
    assert frame["code"].tolist() == ["0363", "0014"] and frame["bedrag"].tolist() == [10, 3]
    with pytest.raises(al.LoadError, match=r"row 1, column bedrag: 3\.5 is not of type int64"):
        al.load(pd.DataFrame({"bedrag": [3.5]}), "data", schema=schema, if_exists="append")
    assert len(al.read(f"SELECT * FROM {schema}.data")) == 2


def test_appends_refuse_what_the_table_would_round_or_cut(tmp_path, schema):
    with al.engine().begin() as connection:
        connection.execute(sa.text(
            f"CREATE TABLE {schema}.data (code bigint, bedrag numeric(6,2), f double precision, dag date, sleutel uuid, opmerking text)"
        ))
    path = tmp_path / "maart.csv"
    for row, message in [
        ("0363,1.5,2,2024-03-01", r"row 1, column code: '0363' is not an integer without a leading zero"),
        ("363,1.005,2,2024-03-01", r"row 1, column bedrag: '1\.005' is not a number of at most 2 decimals"),
        ("363,1.5,1e400,2024-03-01", r"row 1, column f: '1e400' is not a number a float holds"),
    ]:
        path.write_text(f"code,bedrag,f,dag\n{row}\n")
        with pytest.raises(al.InputFileError, match=message):
            import_file(path, "data", schema=schema, if_exists="append")
    path.write_text("code,bedrag,f,dag\n363,1.5,2,2024-03-01\n")
    report = import_file(path, "data", schema=schema, if_exists="append")
    assert "columns of the table the data has not: sleutel, opmerking (NULL, or their default, in the rows appended)" in report.notes
    with pytest.raises(al.LoadError, match=r"row 1, column dag: .* is not a date \(it has a time of day"):
        al.load(pd.DataFrame({"dag": [pd.Timestamp("2024-06-01 13:45")]}), "data", schema=schema, if_exists="append")
    frame = pd.DataFrame({"sleutel": pd.Series(["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"], dtype="str"), "opmerking": ["x"]})
    al.load(frame, "data", schema=schema, if_exists="append")  # text for a uuid column, in pandas' own string dtype
    assert al.read(f"SELECT count(*) AS n FROM {schema}.data")["n"][0] == 2
