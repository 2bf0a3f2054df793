import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/stack/" in item.nodeid:
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def sample_data(stack):
    """The stack's database holds the sample data (stadsdelen … meldingen) the notebooks use."""
    stack.exec("lab", "analysis-lib", "sample-data")
