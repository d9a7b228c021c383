from tests.subscriptions.conftest import billing  # noqa: F401  (billing switched on for a test)
