"""Text-cell typing: the evidence a column's batches give, and the conversion to the type decided."""

import pyarrow as pa
import pytest

from analysis_lib.errors import InputFileError
from analysis_lib.sources.text_types import TextEvidence, convert


def evidence(*batches, decimal=".") -> TextEvidence:
    found = TextEvidence(decimal=decimal)
    for batch in batches:
        found.add(pa.array(batch, pa.string()))
    return found


@pytest.mark.parametrize(
    ("batches", "type_name"),
    [
        ([["0363010000543211", "0363010000543212"]], "text"),
        ([["0", "10", "-5"]], "integer"),
        ([["12345678901234567890"]], "text"),  # as a number it would lose digits
        ([["1", "2"], ["2.5"]], "float"),
        ([["1,5", "2"]], "float"),
        ([["True", "false"]], "boolean"),
        ([["2024-02-29"], ["2024-03-01 12:00"]], "timestamp"),
        ([["2024-02-30"]], "text"),
        ([["2024-01-01T12:00:00Z", "2024-01-01T13:00:00+01:00"]], "timestamptz"),
        ([["2024-01-01T12:00:00Z", "2024-01-01T12:00:00"]], "text"),
        ([[None] * 100, ["", " "], ["12"]], "integer"),  # empty batches are no evidence
        ([["NA", "."] * 50, ["7"]], "integer"),  # nor are batches of markers only
        ([["NA", "."]], "text"),
        ([[None, None]], "text"),
        ([["GM0363", "BU03630000"]], "text"),
        ([["+5", "7"]], "text"),  # the plus is kept: +31 20 … is a telephone number
        ([["9007199254740993", "1.5"]], "text"),  # as floats, ids beyond 15 digits lose their last ones
        ([["1e400"]], "text"),  # infinity as a float
        ([["1e5", "-2.5"]], "float"),
        ([["00123456789012345675", "00123456789012345682"]], "text"),  # shipping codes, not hex WKB
    ],
)
def test_a_column_is_the_narrowest_type_all_its_values_are(batches, type_name):
    decimal = "," if any("," in (v or "") for batch in batches for v in batch) else "."
    assert evidence(*batches, decimal=decimal).type_name == type_name


def test_a_late_value_that_is_not_a_number_makes_the_column_text():
    assert evidence([str(i) for i in range(10_000)], ["1", "twee"]).type_name == "text"


def test_geometry_text_is_recognised_in_every_value_or_not_at_all():
    assert evidence(["POINT (1 2)", " SRID=28992;MULTIPOLYGON(((0 0,1 0,1 1,0 0)))"]).geometry_kind == "WKT"
    assert evidence(['{"type": "Point", "coordinates": [4.9, 52.4]}']).geometry_kind == "GeoJSON"
    assert evidence(["POINT (1 2)"], ["geen punt"]).geometry_kind is None


def test_decimal_commas_are_noted_but_thousands_separators_are_not():
    assert evidence(["2,1", "1,8"]).decimal_comma is True
    assert evidence(["1,234", "12,500"]).decimal_comma is not True  # could be thousands


def test_missing_booleans_stay_missing():
    values, markers = convert(pa.array(["true", None, "NA", "false"]), "boolean", decimal=".", where="f.csv", column="b", first_row=1)
    assert values.to_pylist() == [True, None, None, False] and markers == 1


def test_long_digit_codes_are_no_geometry_but_hex_wkb_is():
    import shapely

    assert evidence(["00123456789012345675" * 3]).geometry_kind is None
    assert evidence([shapely.to_wkb(shapely.Point(121000, 487000), hex=True)]).geometry_kind == "WKB (hex)"


def test_conversion_names_the_row_that_does_not_fit_and_counts_markers():
    values, markers = convert(pa.array(["12", " NA", None, "7"]), "integer", decimal=".", where="f.csv", column="n", first_row=1)
    assert values.to_pylist() == [12, None, None, 7] and markers == 1
    with pytest.raises(InputFileError, match=r"f\.csv: row 12, column n: 'twaalf' is not an integer"):
        convert(pa.array(["1", "twaalf"]), "integer", decimal=".", where="f.csv", column="n", first_row=11)
    with pytest.raises(InputFileError, match=r"row 3, column n: 'n' is not an integer \(the header again: two files pasted together\?\)"):
        convert(pa.array(["1", "2", "n"]), "integer", decimal=".", where="f.csv", column="n", first_row=1)
    numbers, _ = convert(pa.array(["12,50", "3"]), "numeric", decimal=",", where="f.csv", column="n", first_row=1)
    assert numbers.to_pylist() == ["12.50", "3"]  # PostgreSQL reads them as numeric, digit for digit
