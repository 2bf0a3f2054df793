"""Nested values (a frame's dicts and lists, Arrow structs and maps) as the JSON text that becomes jsonb.

numpy numbers stay numbers, dates and times become ISO text, decimals their digits as text (always, so
a field holds one JSON type), non-finite floats (NaN, which JSON has no word for) and NaT null; a value
JSON cannot hold is an error naming its row and column, never its repr.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import LoadError


def json_texts(values: Iterable, *, where: str, column: str, first_row: int) -> list[str | None]:
    texts = []
    for row, value in enumerate(values, start=first_row):
        try:
            texts.append(None if _missing(value) else json.dumps(_plain(value), ensure_ascii=False, allow_nan=False))
        except (TypeError, ValueError) as error:
            raise LoadError(f"{where}: row {row}, column {column}: cannot be stored as JSON ({error})") from None
    return texts


def _missing(value) -> bool:
    return value is None or (not isinstance(value, dict | list | tuple | np.ndarray) and bool(pd.isna(value)))


def _plain(value):
    """``value`` as what json.dumps writes: dicts, lists, str, int, float (finite), bool, None."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.datetime64 | np.timedelta64):
        return None if np.isnat(value) else pd.Timestamp(value).isoformat() if isinstance(value, np.datetime64) else str(pd.Timedelta(value))
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value
