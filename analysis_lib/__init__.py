"""analysis_lib: the Python side of the Amsterdam data-analysis workbench.

>>> import analysis_lib as al
>>> al.read_geo("SELECT code, geom FROM buurten WHERE stadsdeel = :sd", {"sd": "A"})
"""

from importlib.metadata import version as _version

from .db import connect, engine, server_info
from .errors import (
    AnalysisLibError,
    ConfigError,
    DatabaseUnavailable,
    InputFileError,
    LoadError,
    PostGISMissing,
    QueryError,
)
from .files import import_file
from .ingest import LoadReport, load
from .query import read, read_geo, read_sql
from .settings import Settings, load_settings

__version__ = _version("analysis-lib")

__all__ = [
    "AnalysisLibError",
    "ConfigError",
    "DatabaseUnavailable",
    "InputFileError",
    "LoadError",
    "LoadReport",
    "PostGISMissing",
    "QueryError",
    "Settings",
    "connect",
    "engine",
    "import_file",
    "load",
    "load_settings",
    "read",
    "read_geo",
    "read_sql",
    "server_info",
]
