"""A Django app for tests/test_django.py: models whose files live on flystore disks."""
