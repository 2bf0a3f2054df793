"""Detection of encodings, separators and decimal commas, on bytes and text made here."""

import io

import pytest

from analysis_lib.files import _sniff_decimal, _sniff_separator, detect_encoding


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("naam\nCafé 't Hoekje\n".encode(), "utf-8"),
        ("naam\nCafé € 5\n".encode("cp1252"), "cp1252"),
        (b"naam\nabc\x81\x8d\n", "latin-1"),  # bytes cp1252 leaves undefined
        (b"plain ascii\n", "utf-8"),
    ],
)
def test_detect_encoding(raw, expected):
    assert detect_encoding(io.BytesIO(raw)) == expected


def test_detect_encoding_reads_past_the_first_chunk():
    raw = b"a" * (5 << 20) + "é".encode("cp1252")
    assert detect_encoding(io.BytesIO(raw)) == "cp1252"


@pytest.mark.parametrize(
    ("sample", "separator"),
    [
        ("a,b,c\n1,2,3", ","),
        ("a;b;c\n1;2;3", ";"),
        ("a\tb\n1\t2", "\t"),
        ("a|b\n1|2", "|"),
        ("single\n1", ","),
        ('"Inkomen|personen|aantal";"Inkomen|huishoudens"\n"1,5";"2"', ";"),  # separators inside quotes do not count
    ],
)
def test_separator_splits_lines_into_equal_fields(sample, separator):
    assert _sniff_separator(sample) == separator


def test_decimal_comma_is_seen_in_semicolon_files_only():
    assert _sniff_decimal("naam;waarde\nA;1,5\n", ";") == ","
    assert _sniff_decimal("naam;waarde\nA;15\n", ";") == "."
    assert _sniff_decimal('naam,waarde\nA,"1,5"\n', ",") == "."
