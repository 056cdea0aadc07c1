"""``flystore serve``: a storage browser (a FastAPI app with a small front end of its own).

``create_app(manager, token=...)`` builds it; ``flystore.web.server`` runs it with uvicorn.
Needs ``pip install "flystore[web]"``.
"""

from __future__ import annotations

from importlib.util import find_spec

from ..errors import DriverNotInstalled

try:
    import fastapi  # noqa: F401  # checked once, with the install hint

    if find_spec("python_multipart") is None and find_spec("multipart") is None:  # the router's forms
        raise ModuleNotFoundError("No module named 'python_multipart'", name="python_multipart")
except ModuleNotFoundError as _cause:
    raise DriverNotInstalled.for_extra("web", "flystore.web", cause=_cause) from _cause

from .app import LOOPBACK_HOSTS, create_app, new_token
from .auth import AccessGuard, csrf_token

__all__ = ["LOOPBACK_HOSTS", "AccessGuard", "create_app", "csrf_token", "new_token"]
