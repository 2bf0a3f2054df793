"""The district report's figures, checked against the same sample data counted with pandas."""

import datetime as dt
import os
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

import analysis_lib as al
from analysis_lib import district, sample_data

SCALE = 0.25


@pytest.fixture(scope="module")
def city(database_env):
    """Sample data in a schema of its own, first on the search path (libpq reads PGOPTIONS), and the
    same data in memory as pandas frames."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with al.engine().begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    saved = os.environ.get("PGOPTIONS")
    try:
        sample_data.load_sample_data(scale=SCALE, schema=schema, progress=False)
        os.environ["PGOPTIONS"] = f"-c search_path={schema},public"
        yield sample_data.make(scale=SCALE)
    finally:
        os.environ.pop("PGOPTIONS") if saved is None else os.environ.update(PGOPTIONS=saved)
        with al.engine().begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def counted_by_pandas(city, stadsdeel: str, start: str, end: str, categorie: str = "") -> pd.DataFrame:
    meldingen = city.meldingen.merge(city.buurten[["code", "stadsdeel"]], left_on="buurt", right_on="code")
    local_day = meldingen["gemeld_op"].dt.tz_convert("Europe/Amsterdam").dt.date
    chosen = (meldingen["stadsdeel"] == stadsdeel) & (local_day >= dt.date.fromisoformat(start)) & (local_day <= dt.date.fromisoformat(end))
    if categorie:
        chosen &= meldingen["categorie"] == categorie
    return meldingen[chosen]


@pytest.mark.parametrize(("stadsdeel", "start", "end", "categorie"), [("N", "2024-03-01", "2024-05-31", "Afval"), ("A", "2024-07-01", "2024-12-31", "")])
def test_counts_per_buurt_kpis_and_trend_match_pandas(city, stadsdeel, start, end, categorie):
    expected = counted_by_pandas(city, stadsdeel, start, end, categorie)
    selection = district.select(stadsdeel.lower(), start, end, categorie)
    buurten = district.per_buurt(selection)

    all_buurten = city.buurten[city.buurten["stadsdeel"] == stadsdeel]
    assert sorted(buurten["code"]) == sorted(all_buurten["code"])  # also the buurten without meldingen
    per_buurt = expected.groupby("buurt").size()
    assert dict(zip(buurten["code"], buurten["meldingen"], strict=True)) == {code: int(per_buurt.get(code, 0)) for code in all_buurten["code"]}
    assert buurten.crs.to_epsg() == 28992

    kpis = district.kpis(selection, buurten)
    assert kpis.loc["meldingen", "this period"] == len(expected)
    assert kpis.loc["open", "this period"] == (expected["status"] == "open").sum()
    days = (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days + 1
    before_end = dt.date.fromisoformat(start) - dt.timedelta(days=1)
    before = counted_by_pandas(city, stadsdeel, str(before_end - dt.timedelta(days=days - 1)), str(before_end), categorie)
    assert kpis.loc["meldingen", "previous period"] == len(before)

    trend = district.trend(selection)
    assert trend["meldingen"].sum() == len(expected)
    if days > 92:
        months = expected["gemeld_op"].dt.tz_convert("Europe/Amsterdam").dt.month.value_counts()
        assert [trend.loc[dt.date(2024, m, 1), "meldingen"] for m in sorted(months.index)] == [months[m] for m in sorted(months.index)]
    else:
        assert trend.index[0].weekday() == 0 and all((b - a).days == 7 for a, b in zip(trend.index, trend.index[1:], strict=False))

    top = district.top(buurten, 3)
    assert list(top.index) == [1, 2, 3]
    assert top["per_1000_inwoners"].is_monotonic_decreasing
    assert top["per_1000_inwoners"].iloc[0] == buurten["per_1000_inwoners"].max()


def test_periods_are_amsterdam_days_not_utc_days(city):
    """A melding at 23:30 UTC is on the next day in Amsterdam: a day counts in local time, and that
    differs from counting by UTC date."""
    meldingen = city.meldingen.merge(city.buurten[["code", "stadsdeel"]], left_on="buurt", right_on="code")
    stamps = meldingen[meldingen["stadsdeel"] == "K"]["gemeld_op"]
    local_days, utc_days = stamps.dt.tz_convert("Europe/Amsterdam").dt.date, stamps.dt.date
    differing = sorted(day for day in set(local_days) if (local_days == day).sum() != (utc_days == day).sum())
    assert differing, "the sample data has no melding late in the evening to tell the two apart"
    day = differing[0]
    selection = district.select("K", str(day), str(day))
    counted = district.kpis(selection, district.per_buurt(selection)).loc["meldingen", "this period"]
    assert counted == (local_days == day).sum() != (utc_days == day).sum()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("X", "2024-01-01", "2024-01-31"), "stadsdeel 'X' does not exist; the codes are: A (Centrum), B (Westpoort), E (West)"),
        (("A", "2024-13-01", "2024-01-31"), "start '2024-13-01' is not a date (YYYY-MM-DD)"),
        (("A", "2024-01-01", "31-01-2024"), "end '31-01-2024' is not a date (YYYY-MM-DD)"),
        (("A", "2024-02-01", "2024-01-31"), "end (2024-01-31) lies before start (2024-02-01)"),
        (("A", "2024-01-01", "2024-01-31", "Afvl"), "categorie 'Afvl' does not occur in meldingen; the categories are: Afval, Groen en water"),
    ],
)
def test_a_bad_selection_names_the_parameter_and_what_exists(city, arguments, message):
    with pytest.raises(district.SelectionError) as raised:
        district.select(*arguments)
    assert message in str(raised.value)


def test_maps_and_charts_are_saved_as_png(city, tmp_path):
    selection = district.select("K", "2024-01-01", "2024-06-30")
    buurten = district.per_buurt(selection)
    district.choropleth(buurten, "per_1000_inwoners", title=selection.title(), path=tmp_path / "map.png")
    district.trend_chart(district.trend(selection), title="trend", path=tmp_path / "trend.png")
    for name in ("map.png", "trend.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
