import os

import pytest

from stack_control import ComposeStack, isolated_environment, make_project_folder, remove_project_folder


@pytest.fixture(scope="session", autouse=True)
def own_cache(tmp_path_factory):
    """The catalog's cache (analysis_lib.catalog.cache) of this session, for it and the commands it runs."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def stack():
    """The test compose project, built and started once per session and removed (with its volumes) after."""
    make_project_folder()
    compose = ComposeStack(isolated_environment())
    try:
        compose.up()
        yield compose
    finally:
        if os.environ.get("WORKBENCH_TEST_KEEP_STACK") != "1":
            compose.down(volumes=True)
            remove_project_folder()


@pytest.fixture(scope="session")
def database_env(request):
    """A database for analysis_lib: the one the environment names (as in the lab), else the test stack's."""
    if os.environ.get("DATABASE_URL") or os.environ.get("PGHOST"):
        yield
        return
    stack = request.getfixturevalue("stack")
    os.environ["DATABASE_URL"] = stack.database_url()
    os.environ["ANALYST_DATABASE_URL"] = stack.analyst_database_url()
    try:
        yield
    finally:
        del os.environ["DATABASE_URL"], os.environ["ANALYST_DATABASE_URL"]
