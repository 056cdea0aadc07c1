"""FastAPI: ``create_upload_dependency(...)`` and ``storage_router(...)`` (upload, download, info, signed URLs)."""

from __future__ import annotations

from ...errors import DriverNotInstalled

try:
    import fastapi  # noqa: F401  # the extra's presence is checked once, with an install hint
except ModuleNotFoundError as _cause:
    raise DriverNotInstalled.for_extra("fastapi", "flystore.integrations.fastapi", cause=_cause) from _cause

from .router import create_upload_dependency, error_response, storage_router

__all__ = ["create_upload_dependency", "error_response", "storage_router"]
