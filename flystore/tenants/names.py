"""Tenant names: what may become one segment of a storage path or part of a bucket name."""

from __future__ import annotations

import unicodedata

from ..errors import PathTraversalDetected

__all__ = ["MAX_TENANT_NAME", "validate_tenant_name"]

MAX_TENANT_NAME = 128

# Characters that would split, climb out of, or be rewritten inside a path segment or a template.
_FORBIDDEN = frozenset("/\\{}")


def validate_tenant_name(tenant: object) -> str:
    """``tenant`` when it is a usable tenant name.

    A tenant name becomes exactly one path segment (or part of a bucket name), so
    it may not be empty, longer than 128 characters, ``.``, contain ``..``, ``/``,
    ``\\``, braces, control or invisible format characters (zero-width spaces,
    bidirectional overrides), unpaired surrogates, or start or end with whitespace.

    Raises:
        PathTraversalDetected: the name breaks one of those rules (a ``ValueError`` too).
    """
    if not isinstance(tenant, str):
        raise PathTraversalDetected(f"a tenant name is a string, not {type(tenant).__name__}")
    reason = _problem(tenant)
    if reason is not None:
        shown = repr(tenant if len(tenant) <= 60 else tenant[:60] + "...")
        raise PathTraversalDetected(f"{shown} is not a usable tenant name: {reason}")
    return tenant


def _problem(tenant: str) -> str | None:
    if not tenant:
        return "it is empty"
    if len(tenant) > MAX_TENANT_NAME:
        return f"it is longer than {MAX_TENANT_NAME} characters"
    if tenant == "." or ".." in tenant:
        return "'.' and '..' climb directories"
    if tenant != tenant.strip():
        return "it starts or ends with whitespace"
    for character in tenant:
        if character in _FORBIDDEN:
            return f"{character!r} is not allowed"
        if unicodedata.category(character) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            return f"control or invisible character U+{ord(character):04X}"
    return None
