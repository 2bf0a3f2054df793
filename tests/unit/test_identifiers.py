import pytest

from analysis_lib import LoadError
from analysis_lib.identifiers import checked_name, normalise_columns, snake_case


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Aantal Inwoners (2024)", "aantal_inwoners_2024"),
        ("beginGeldigheid", "begin_geldigheid"),
        ("Straße & Café", "strae_cafe"),
        ("2024_totaal", "c_2024_totaal"),
        ("", "column"),
        ("%%%", "column"),
        ("x" * 80, "x" * 63),
    ],
)
def test_snake_case(name, expected):
    assert snake_case(name) == expected


def test_normalised_names_stay_unique_and_in_order():
    mapping = normalise_columns(["Naam", "naam", "NAAM", "Code"])
    assert list(mapping.values()) == ["naam", "naam_2", "naam_3", "code"]


@pytest.mark.parametrize("name", ["x; drop table y", "Buurten", 'a"b', "1abc", "", "a" * 64, None])
def test_unsafe_table_names_are_refused(name):
    with pytest.raises(LoadError, match="is not allowed"):
        checked_name(name, "table name")


def test_refusal_suggests_a_safe_name():
    with pytest.raises(LoadError, match="use e.g. 'x_drop_table_y'"):
        checked_name("x; drop table y", "table name")
