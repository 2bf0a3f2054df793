"""The dataset catalog: ``datasets.yml`` declares every table of the project and how it is made;
``analysis-lib build`` makes what is missing or stale, ``status`` says which is which, and the
``catalog`` schema records where every table came from.

>>> import analysis_lib as al
>>> al.catalog.status()             # a DataFrame: entry, table, state, why, …
>>> al.catalog.lineage("meldingen_per_buurt_maand")
>>> al.catalog.draw_lineage(al.catalog.lineage("buurten_overzicht"))
"""

from .picture import draw_lineage
from .status import lineage, status

__all__ = ["build", "draw_lineage", "lineage", "status"]


def build(*names: str, **options):
    """``analysis-lib build`` from Python (see builder.build for the options)."""
    from .builder import build as run_build

    return run_build(names=list(names), **options)
