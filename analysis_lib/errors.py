"""Exceptions raised by analysis_lib; each message says what failed and what to do."""


class AnalysisLibError(Exception):
    """Base class of every error analysis_lib raises on purpose."""


class ConfigError(AnalysisLibError):
    """The database settings in the environment are missing or malformed."""


class DatabaseUnavailable(AnalysisLibError):
    """The database could not be reached or refused the login."""


class PostGISMissing(AnalysisLibError):
    """The database answers but has no PostGIS extension."""


class QueryError(AnalysisLibError):
    """A query's result cannot be turned into what was asked for."""


class LoadError(AnalysisLibError):
    """Data could not be loaded; the database was left as it was."""


class InputFileError(LoadError):
    """A file cannot be read or does not meet the data rules; the message names the file (and row)."""


class CatalogError(AnalysisLibError):
    """datasets.yml cannot be read, or an entry cannot be built; the message names the file, entry and field."""
