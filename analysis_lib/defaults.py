"""Defaults that modules which neither load nor run notebooks (the catalog, the command line) need
without importing the loader's pyarrow, pyproj and pandas or papermill."""

DEFAULT_LOCK_TIMEOUT = 30.0  # seconds a load waits for its table's lock
TYPE_NAMES = ("text", "integer", "float", "numeric", "boolean", "date", "timestamp")  # what column_types may choose
DEFAULT_OUTPUT_DIR = "reports"  # where analysis-lib run writes reports/<notebook>/<parameters>/
