"""analysis_lib: the Python side of the Amsterdam data-analysis workbench.

>>> import analysis_lib as al
>>> al.read_geo("SELECT code, geom FROM buurten WHERE stadsdeel = :sd", {"sd": "A"})

The names below are imported on first use, so ``import analysis_lib`` (and every kernel that loads
the workbench's IPython extension) starts in milliseconds, not in the second geopandas takes.
"""

from importlib import import_module

from .errors import (
    AnalysisLibError,
    ConfigError,
    DatabaseUnavailable,
    InputFileError,
    LoadError,
    PostGISMissing,
    QueryError,
)

__version__ = "0.1.0"  # pyproject.toml reads it from here (importlib.metadata would cost a command's start 30 ms)

_LAZY = {
    "catalog": None,  # the subpackage itself
    "connect": "db",
    "engine": "db",
    "read_only_engine": "db",
    "server_info": "db",
    "import_file": "files",
    "LoadReport": "ingest",
    "load": "ingest",
    "read": "query",
    "read_geo": "query",
    "read_sql": "query",
    "Settings": "settings",
    "load_settings": "settings",
}

__all__ = [
    "AnalysisLibError",
    "ConfigError",
    "DatabaseUnavailable",
    "InputFileError",
    "LoadError",
    "PostGISMissing",
    "QueryError",
    *_LAZY,
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'analysis_lib' has no attribute {name!r}")
    module = _LAZY[name]
    value = import_module(f".{name}", __name__) if module is None else getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
