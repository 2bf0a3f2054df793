"""The IPython extension every workbench kernel loads: ``%sql`` and ``%%sql`` that need no
connection string and read through the read-only role.

jupysql is loaded on the first ``%sql``, not at kernel start (it takes over a second to import).
Results are DataFrames. Load it elsewhere with ``%load_ext analysis_lib.kernel``.
"""

from __future__ import annotations

CONNECTION_ALIAS = "workbench (read-only)"


def load_ipython_extension(ipython) -> None:
    def sql(line: str = "", cell: str | None = None):
        _start_jupysql(ipython)  # replaces this magic with jupysql's own
        if cell is None:
            return ipython.run_line_magic("sql", line)
        return ipython.run_cell_magic("sql", line, cell)

    sql.__doc__ = "SQL against the workbench database (read-only role); see jupysql's %sql."
    ipython.register_magic_function(sql, magic_kind="line_cell", magic_name="sql")


def _start_jupysql(ipython) -> None:
    from IPython.utils.capture import capture_output

    from .db import read_only_engine

    with capture_output():  # jupysql's tips about config files: our settings follow
        ipython.extension_manager.load_extension("sql")
    settings = ("SqlMagic.autopandas = True", "SqlMagic.displaycon = False", "SqlMagic.feedback = 0", "SqlMagic.named_parameters = 'enabled'")
    for setting in settings:
        ipython.run_line_magic("config", setting)
    ipython.push({"_workbench_read_only_engine": read_only_engine()}, interactive=False)
    ipython.run_line_magic("sql", f"_workbench_read_only_engine --alias '{CONNECTION_ALIAS}'")
