"""Shared test setup: the loopback service fixtures are a plugin of their own."""

pytest_plugins = ["tests.drivers.remote_fixtures", "tests.services", "tests.services_clamd", "tests.services_redis"]
