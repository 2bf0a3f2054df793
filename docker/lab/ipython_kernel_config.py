# Every workbench kernel: %sql / %%sql through the read-only role (analysis_lib.kernel).
c = get_config()  # noqa: F821 (IPython's config loader provides it)
c.InteractiveShellApp.extensions = ["analysis_lib.kernel"]
