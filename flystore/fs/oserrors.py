"""The builtin errors ``disk.fs`` raises where fsspec callers test for them (``FileNotFoundError``, ...)."""

from __future__ import annotations

import errno

__all__ = ["_os_error"]


def _os_error(kind: type[OSError], code: int, path: str, cause: BaseException | None = None) -> OSError:
    """``kind(code, "<ENAME>: <cause or path>", path)``, chained to ``cause`` (raised by the caller, not here)."""
    error = kind(code, f"{errno.errorcode.get(code, 'error')}: {cause or path}", path)
    if cause is not None:
        error.__cause__ = cause
    return error

