"""Tenant names: what may become one segment of a storage path or part of a bucket name."""

from __future__ import annotations

import re
import unicodedata

from ..errors import PathTraversalDetected

__all__ = ["MAX_TENANT_NAME", "validate_tenant_name", "validate_templated_name"]

MAX_TENANT_NAME = 128

# Characters that would split, climb out of, or be rewritten inside a path segment or a template.
_FORBIDDEN = frozenset("/\\{}")
# Filled into a bucket name, a root or a URL, a name holds letters, digits, "_", "-" and "." only:
# "@", ":", "?", "#" or "%" would let a tenant move a templated URL's host ("x@evil.example#").
_TEMPLATED = re.compile(r"[\w.-]+")


def validate_tenant_name(tenant: object) -> str:
    """``tenant`` when it is a usable tenant name.

    A tenant name becomes exactly one path segment (or part of a bucket name), so
    it may not be empty, longer than 128 characters, ``.``, contain ``..``, ``/``,
    ``\\``, braces, control or invisible format characters (zero-width spaces,
    bidirectional overrides), unpaired surrogates, or start or end with whitespace.
    It must also be in NFKC form: ``"ａｃｍｅ"`` (full-width) and ``"cafe\u0301"`` (a combining
    accent) are refused, so no two accepted names are the same name to a filesystem that
    normalises Unicode (macOS) or to a reader comparing them by eye.

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


def validate_templated_name(tenant: str) -> str:
    """``tenant`` when it may also be filled into a disk option (a bucket, a root, a URL).

    Raises:
        PathTraversalDetected: the name holds anything but letters, digits, ``_``, ``-`` and ``.``.
    """
    validate_tenant_name(tenant)
    if _TEMPLATED.fullmatch(tenant) is None:
        raise PathTraversalDetected(
            f"{tenant[:60]!r} is not a usable tenant name for a templated disk option: only letters, digits, "
            "'_', '-' and '.' may be filled into a bucket, root or URL"
        )
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
    if unicodedata.normalize("NFKC", tenant) != tenant:
        return "it is not in Unicode NFKC form (it would look like, or normalise to, another name)"
    return None
