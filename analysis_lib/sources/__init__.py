"""Inputs, one module per medium: ``csv``, ``excel``, ``ogr`` (GeoJSON, GeoPackage, Shapefile, …),
``parquet`` and ``frame`` (DataFrames). Each opens its input as a ``Source``: what the input says of
itself (its columns and what their values are, its own geometry and CRS, its encoding) and a reader
of its batches. What to make of that is decided in one place, ``analysis_lib.plan``."""
