"""Django: ``DiskStorage``, a Django storage backend on any flystore disk.

``STORAGES = {"default": {"BACKEND": "flystore.integrations.django.DiskStorage", "OPTIONS": {"disk": "s3"}}}``
"""

from __future__ import annotations

from ...errors import DriverNotInstalled

try:
    import django  # noqa: F401  # the extra's presence is checked once, with an install hint
except ModuleNotFoundError as _cause:
    raise DriverNotInstalled.for_extra("django", "flystore.integrations.django", cause=_cause) from _cause

from .storage import DiskStorage

__all__ = ["DiskStorage"]
