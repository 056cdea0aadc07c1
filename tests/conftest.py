"""Shared test setup: the loopback service fixtures are a plugin of their own."""

pytest_plugins = ["tests.services", "tests.services_redis"]
