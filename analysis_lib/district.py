"""The district report: public-space reports (meldingen) of one stadsdeel over a period, per buurt.

Works on the tables ``analysis-lib sample-data`` makes (stadsdelen, buurten, meldingen) and on real
tables of the same shape. Dates are days in Amsterdam's time zone; the end day is included.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import pandas as pd

from .errors import AnalysisLibError
from .query import read, read_geo

TIME_ZONE = "Europe/Amsterdam"
_PERIOD_FILTER = f"""
    m.gemeld_op >= (CAST(:start AS date)::timestamp AT TIME ZONE '{TIME_ZONE}')
    AND m.gemeld_op < ((CAST(:end AS date) + 1)::timestamp AT TIME ZONE '{TIME_ZONE}')
    AND (CAST(:categorie AS text) = '' OR m.categorie = :categorie)
"""


class SelectionError(AnalysisLibError):
    """A report parameter names something that is not in the data."""


@dataclass(frozen=True)
class Selection:
    stadsdeel: str
    naam: str
    start: dt.date
    end: dt.date
    categorie: str  # '' is every category

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Selection:
        """The period of the same length just before this one."""
        return Selection(self.stadsdeel, self.naam, self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1), self.categorie)

    def params(self) -> dict:
        return {"stadsdeel": self.stadsdeel, "start": self.start, "end": self.end, "categorie": self.categorie}

    def title(self) -> str:
        what = self.categorie or "all categories"
        return f"Stadsdeel {self.naam} ({self.stadsdeel}), {what}, {self.start:%d-%m-%Y} to {self.end:%d-%m-%Y}"


def select(stadsdeel: str, start: str | dt.date, end: str | dt.date, categorie: str = "") -> Selection:
    """The checked selection; SelectionError names the parameter and lists what exists."""
    start_day, end_day = _day("start", start), _day("end", end)
    if end_day < start_day:
        raise SelectionError(f"end ({end_day}) lies before start ({start_day})")
    stadsdelen = read("SELECT code, naam FROM stadsdelen ORDER BY code")
    names = dict(zip(stadsdelen["code"], stadsdelen["naam"], strict=True))
    code = stadsdeel.strip().upper()
    if code not in names:
        raise SelectionError(f"stadsdeel {stadsdeel!r} does not exist; the codes are: {', '.join(f'{c} ({n})' for c, n in names.items())}")
    if categorie:
        known = read("SELECT DISTINCT categorie FROM meldingen ORDER BY 1")["categorie"].tolist()
        if categorie not in known:
            raise SelectionError(f"categorie {categorie!r} does not occur in meldingen; the categories are: {', '.join(known)}")
    return Selection(code, names[code], start_day, end_day, categorie)


def per_buurt(selection: Selection) -> gpd.GeoDataFrame:
    """Every buurt of the stadsdeel (also those without meldingen), with the count and the count per
    1,000 inhabitants in the period."""
    return read_geo(
        f"""
        SELECT b.code, b.naam, b.inwoners, count(m.id) AS meldingen,
               round(1000.0 * count(m.id) / NULLIF(b.inwoners, 0), 1)::float8 AS per_1000_inwoners,
               b.geom
        FROM buurten b
        LEFT JOIN meldingen m ON m.buurt = b.code AND {_PERIOD_FILTER}
        WHERE b.stadsdeel = :stadsdeel
        GROUP BY b.code, b.naam, b.inwoners, b.geom
        ORDER BY b.code
        """,
        selection.params(),
    )


def kpis(selection: Selection, buurten: gpd.GeoDataFrame) -> pd.DataFrame:
    """The headline figures, with the previous period of the same length for comparison."""
    now, before = _totals(selection), _totals(selection.previous())
    inwoners = int(buurten["inwoners"].sum())
    busiest = buurten.sort_values(["meldingen", "code"], ascending=[False, True]).iloc[0]
    rows = [
        ("meldingen", now["meldingen"], before["meldingen"]),
        ("meldingen per 1,000 inhabitants", round(1000 * now["meldingen"] / inwoners, 1), round(1000 * before["meldingen"] / inwoners, 1)),
        ("resolved (%)", _percentage(now["afgehandeld"], now["meldingen"]), _percentage(before["afgehandeld"], before["meldingen"])),
        ("open", now["open"], before["open"]),
        ("buurten with meldingen", int((buurten["meldingen"] > 0).sum()), ""),
        ("busiest buurt", f"{busiest['naam']} ({busiest['meldingen']})", ""),
    ]
    shown = [tuple("" if value is None else value for value in row) for row in rows]
    return pd.DataFrame(shown, columns=["indicator", "this period", "previous period"], dtype=object).set_index("indicator")


def top(buurten: gpd.GeoDataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` buurten with the most meldingen per 1,000 inhabitants."""
    columns = ["code", "naam", "inwoners", "meldingen", "per_1000_inwoners"]
    ranked = buurten[columns].sort_values(["per_1000_inwoners", "code"], ascending=[False, True]).head(n)
    return ranked.reset_index(drop=True).rename(index=lambda i: i + 1)


def trend(selection: Selection, *, interval: str = "auto") -> pd.DataFrame:
    """Meldingen per week or month (``auto``: weeks for periods up to 92 days) in the period."""
    if interval == "auto":
        interval = "week" if selection.days <= 92 else "month"
    if interval not in ("day", "week", "month"):
        raise SelectionError(f"interval must be day, week or month, not {interval!r}")
    counts = read(
        f"""
        SELECT date_trunc(:interval, m.gemeld_op AT TIME ZONE '{TIME_ZONE}')::date AS periode,
               count(*) AS meldingen
        FROM meldingen m JOIN buurten b ON b.code = m.buurt
        WHERE b.stadsdeel = :stadsdeel AND {_PERIOD_FILTER}
        GROUP BY 1 ORDER BY 1
        """,
        {**selection.params(), "interval": interval},
    )
    every = pd.DataFrame({"periode": _periods(selection, interval)})
    merged = every.merge(counts, on="periode", how="left").fillna({"meldingen": 0})
    return merged.astype({"meldingen": "int64"}).set_index("periode")


def choropleth(buurten: gpd.GeoDataFrame, column: str, *, title: str, path: str | Path | None = None):
    """A map of the buurten coloured by ``column``, labelled, in RD New metres; saved as PNG to ``path``."""
    fig, ax = plt.subplots(figsize=(8, 7), layout="constrained")
    buurten.plot(column=column, cmap="OrRd", legend=True, edgecolor="#555555", linewidth=0.4, ax=ax,
                 legend_kwds={"label": column.replace("_", " "), "shrink": 0.7},
                 missing_kwds={"color": "#eeeeee", "label": "no data"})
    for point, code in zip(buurten.geometry.representative_point(), buurten["code"], strict=True):
        ax.annotate(code, (point.x, point.y), ha="center", va="center", fontsize=6)
    ax.set_title(title)
    ax.set_xlabel("x (m, RD New)")
    ax.set_ylabel("y (m, RD New)")
    ax.set_aspect("equal")
    _save(fig, path)
    return fig


def interactive_map(buurten: gpd.GeoDataFrame, column: str, *, height: str = "520px"):
    """An ipyleaflet map of the buurten coloured by ``column`` (the same colours as ``choropleth``) on a
    blank background: no tile server, so it works offline. Hovering a buurt shows its name and value."""
    from ipyleaflet import GeoJSON, Map, WidgetControl
    from ipywidgets import HTML, Layout
    from matplotlib import colormaps
    from matplotlib.colors import Normalize, to_hex

    shapes = buurten[["code", "naam", column, buurten.geometry.name]].to_crs("EPSG:4326")
    scale = Normalize(vmin=float(shapes[column].min()), vmax=float(shapes[column].max()))
    colours = colormaps["OrRd"]

    def style(feature):
        value = feature["properties"][column]
        fill = "#eeeeee" if value is None else to_hex(colours(scale(value)))
        return {"fillColor": fill, "fillOpacity": 0.85, "color": "#555555", "weight": 1}

    layer = GeoJSON(data=json.loads(shapes.to_json()), style_callback=style, hover_style={"weight": 3, "color": "#000000"})
    label = HTML(f"<b>{column.replace('_', ' ')}</b>: hover a buurt")

    def show(feature, **_):
        properties = feature["properties"]
        label.value = f"<b>{properties['naam']}</b> ({properties['code']}): {properties[column]} {column.replace('_', ' ')}"

    layer.on_hover(show)
    west, south, east, north = shapes.total_bounds
    # layers given: no default OpenStreetMap tile layer, nothing fetched from the internet
    chart = Map(layers=(layer,), center=((south + north) / 2, (west + east) / 2), zoom=12,
                scroll_wheel_zoom=True, attribution_control=False, layout=Layout(height=height))
    chart.add(WidgetControl(widget=label, position="topright"))
    chart.fit_bounds([[south, west], [north, east]])
    return chart


def trend_chart(counts: pd.DataFrame, *, title: str, path: str | Path | None = None):
    """Bars of meldingen per period."""
    fig, ax = plt.subplots(figsize=(9, 3.5), layout="constrained")
    ax.bar([d.isoformat() for d in counts.index], counts["meldingen"], color="#ec0000")
    ax.set_title(title)
    ax.set_ylabel("meldingen")
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    _save(fig, path)
    return fig


def _totals(selection: Selection) -> dict[str, int]:
    row = read(
        f"""
        SELECT count(*) AS meldingen,
               count(*) FILTER (WHERE m.status = 'afgehandeld') AS afgehandeld,
               count(*) FILTER (WHERE m.status = 'open') AS open
        FROM meldingen m JOIN buurten b ON b.code = m.buurt
        WHERE b.stadsdeel = :stadsdeel AND {_PERIOD_FILTER}
        """,
        selection.params(),
    ).iloc[0]
    return {name: int(value) for name, value in row.items()}


def _percentage(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _day(name: str, value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise SelectionError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def _periods(selection: Selection, interval: str) -> list[dt.date]:
    frequency = {"day": "D", "week": "W-MON", "month": "MS"}[interval]
    first = pd.Timestamp(selection.start)
    if interval == "week":
        first -= pd.Timedelta(days=first.weekday())
    elif interval == "month":
        first = first.replace(day=1)
    return [stamp.date() for stamp in pd.date_range(first, pd.Timestamp(selection.end), freq=frequency)]


def _save(fig, path: str | Path | None) -> None:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
