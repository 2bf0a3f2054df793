"""Amsterdam-like sample data, made offline from a seed: areas that tile the city and points in them.

Stadsdelen (A Centrum, E West, …) split into wijken and buurten with codes in the city's style (wijk
``AF``, buurt ``AF03``, CBS ``BU0363AF03``), all in EPSG:28992 over the city's real extent, each level
tiling its parent without gaps or overlaps; public-space reports (meldingen) and waste containers lie
in the buurten. Nothing is real but the shape of it: good for demos, tests and benchmarks.
"""

from __future__ import annotations

import datetime as dt
import os
import string
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .ingest import load

CRS = "EPSG:28992"
EXTENT = (110_000.0, 476_000.0, 135_000.0, 494_000.0)  # Amsterdam in RD New, rounded outward
# code, name, a point near the real stadsdeel's middle (RD New)
STADSDELEN = [
    ("A", "Centrum", (121_500, 487_400)),
    ("B", "Westpoort", (113_500, 490_500)),
    ("E", "West", (118_500, 487_800)),
    ("F", "Nieuw-West", (114_500, 485_500)),
    ("K", "Zuid", (120_500, 484_500)),
    ("M", "Oost", (125_500, 486_000)),
    ("N", "Noord", (123_500, 491_500)),
    ("T", "Zuidoost", (128_500, 479_500)),
]
CATEGORIES = ["Afval", "Openbare ruimte", "Wegen, verkeer, straatmeubilair", "Overlast bedrijven en horeca", "Groen en water", "Schoon"]
STATUSES = ["open", "in behandeling", "afgehandeld"]
FRACTIONS = ["Rest", "Papier", "Glas", "Textiel", "GFT", "Plastic"]
PERIOD = (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 1, 1, tzinfo=dt.UTC))


@dataclass
class SampleData:
    stadsdelen: gpd.GeoDataFrame
    wijken: gpd.GeoDataFrame
    buurten: gpd.GeoDataFrame
    meldingen: gpd.GeoDataFrame
    afvalcontainers: gpd.GeoDataFrame

    def tables(self) -> dict[str, gpd.GeoDataFrame]:
        return dict(vars(self))


def make(*, scale: float = 1.0, seed: int = 2024) -> SampleData:
    """The sample data; ``scale`` multiplies the number of points (1: 20,000 meldingen, 5,000 containers)."""
    rng = np.random.default_rng(seed)
    extent = shapely.box(*EXTENT)
    stadsdelen = _tiles(extent, np.array([xy for _, _, xy in STADSDELEN], dtype=float))
    stadsdelen_frame = gpd.GeoDataFrame(
        {"code": [c for c, _, _ in STADSDELEN], "naam": [n for _, n, _ in STADSDELEN]}, geometry=stadsdelen, crs=CRS
    )
    wijken, buurten = [], []
    for stadsdeel in stadsdelen_frame.itertuples():
        for w, wijk in enumerate(_tiles(stadsdeel.geometry, _seeds_in(stadsdeel.geometry, rng.integers(4, 8), rng))):
            wijk_code = f"{stadsdeel.code}{string.ascii_uppercase[w]}"
            wijken.append({"code": wijk_code, "naam": f"Wijk {wijk_code}", "stadsdeel": stadsdeel.code, "geometry": wijk})
            for b, buurt in enumerate(_tiles(wijk, _seeds_in(wijk, rng.integers(3, 9), rng)), start=1):
                code = f"{wijk_code}{b:02d}"
                buurten.append(
                    {"code": code, "cbs_code": f"BU0363{code}", "naam": f"Buurt {code}", "wijk": wijk_code,
                     "stadsdeel": stadsdeel.code, "inwoners": int(rng.integers(300, 9000)), "geometry": buurt}
                )
    buurten_frame = gpd.GeoDataFrame(buurten, crs=CRS)
    return SampleData(
        stadsdelen=stadsdelen_frame,
        wijken=gpd.GeoDataFrame(wijken, crs=CRS),
        buurten=buurten_frame,
        meldingen=_meldingen(buurten_frame, round(20_000 * scale), rng),
        afvalcontainers=_containers(buurten_frame, round(5_000 * scale), rng),
    )


def load_sample_data(*, scale: float = 1.0, seed: int = 2024, schema: str = "public", progress: bool | None = None) -> dict[str, int]:
    """Make the sample data and load (replace) it into PostGIS; rows per table."""
    data = make(scale=scale, seed=seed)
    return {
        name: load(frame.rename_geometry("geom"), name, schema=schema, if_exists="replace", primary_key=_KEYS[name], progress=progress).rows
        for name, frame in data.tables().items()
    }


def write_files(folder: str | os.PathLike, *, seed: int = 2024) -> list[Path]:
    """The sample data as the files analysts receive: ``buurten.gpkg`` (layers stadsdelen, wijken,
    buurten), ``meldingen.csv`` (Excel-style: ``;``, decimal comma, x/y in RD New) and
    ``afvalcontainers.geojson`` (WGS 84, as GeoJSON requires). Raw data is never overwritten: files
    that exist are left as they are."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    files = [target / "buurten.gpkg", target / "meldingen.csv", target / "afvalcontainers.geojson"]
    if all(path.exists() for path in files):
        return files
    data = make(seed=seed)
    writers = {
        files[0]: lambda path: [pyogrio.write_dataframe(data.tables()[layer], path, layer=layer) for layer in ("stadsdelen", "wijken", "buurten")],
        files[1]: lambda path: _meldingen_csv(data.meldingen).to_csv(path, sep=";", decimal=",", index=False),
        files[2]: lambda path: pyogrio.write_dataframe(data.afvalcontainers.to_crs("EPSG:4326"), path, driver="GeoJSON"),
    }
    for path, write in writers.items():
        if not path.exists():
            scratch = path.with_name(f".partial-{path.name}")  # a file appears whole or not at all
            scratch.unlink(missing_ok=True)
            write(scratch)
            scratch.rename(path)
    return files


def _meldingen_csv(meldingen: gpd.GeoDataFrame) -> pd.DataFrame:
    table = pd.DataFrame(meldingen.drop(columns="geometry"))
    table["gemeld_op"] = table["gemeld_op"].dt.tz_convert("Europe/Amsterdam").dt.strftime("%Y-%m-%d %H:%M:%S")
    table["x"], table["y"] = meldingen.geometry.x, meldingen.geometry.y
    return table


_KEYS = {"stadsdelen": "code", "wijken": "code", "buurten": "code", "meldingen": "id", "afvalcontainers": "id"}


def _tiles(area: shapely.Geometry, seeds: np.ndarray) -> list[shapely.Geometry]:
    """Voronoi cells of ``seeds`` cut to ``area``, in seed order: together exactly ``area``."""
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=area).geoms
    by_seed = {}
    for cell in cells:
        index = int(np.flatnonzero(shapely.contains_xy(cell, seeds[:, 0], seeds[:, 1]))[0])
        by_seed[index] = shapely.intersection(cell, area)
    return [by_seed[i] for i in range(len(seeds))]


def _seeds_in(area: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    return _points_in(area, int(count), rng)


def _points_in(area: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = area.bounds
    found = np.empty((0, 2))
    shapely.prepare(area)
    while len(found) < count:
        candidates = np.column_stack([rng.uniform(minx, maxx, count * 4), rng.uniform(miny, maxy, count * 4)])
        found = np.vstack([found, candidates[shapely.contains_xy(area, candidates[:, 0], candidates[:, 1])]])
    return np.round(found[:count], 2)


def _spread(buurten: gpd.GeoDataFrame, count: int, rng: np.random.Generator, *, hotspots: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points over the buurten, more where more people live (and, with ``hotspots``, more
    in some buurten than their size explains); and the buurt of each."""
    weights = buurten["inwoners"].to_numpy(dtype=float)
    if hotspots:
        weights = weights * rng.lognormal(0.0, 0.6, len(weights))
    per_buurt = rng.multinomial(count, weights / weights.sum())
    xy = [_points_in(geometry, n, rng) for geometry, n in zip(buurten.geometry, per_buurt, strict=True) if n]
    codes = np.repeat(buurten["code"].to_numpy(), per_buurt)
    return np.vstack(xy) if xy else np.empty((0, 2)), codes


def _meldingen(buurten: gpd.GeoDataFrame, count: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    xy, codes = _spread(buurten, count, rng, hotspots=True)
    shuffled = rng.permutation(len(xy))  # ids follow time; time must not follow the buurt
    xy, codes = xy[shuffled], codes[shuffled]
    start, end = PERIOD
    seconds = rng.integers(0, int((end - start).total_seconds()), len(xy))
    return gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(xy) + 1),
            "categorie": rng.choice(CATEGORIES, len(xy), p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.15]),
            "gemeld_op": pd.to_datetime(start) + pd.to_timedelta(np.sort(seconds), unit="s"),
            "status": rng.choice(STATUSES, len(xy), p=[0.15, 0.15, 0.7]),
            "buurt": codes,
        },
        geometry=shapely.points(xy),
        crs=CRS,
    )


def _containers(buurten: gpd.GeoDataFrame, count: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    xy, codes = _spread(buurten, count, rng)
    return gpd.GeoDataFrame(
        {
            "id": np.arange(1, len(xy) + 1),
            "fractie": rng.choice(FRACTIONS, len(xy), p=[0.4, 0.2, 0.15, 0.05, 0.1, 0.1]),
            "volume_m3": rng.choice([3.0, 4.0, 5.0], len(xy)),
            "buurt": codes,
        },
        geometry=shapely.points(xy),
        crs=CRS,
    )
