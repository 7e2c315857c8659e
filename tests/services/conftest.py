import pytest


@pytest.fixture(autouse=True)
def _in_a_rolled_back_transaction(database):
    """Every service test runs in an app context on a transaction rolled back after."""
