"""What Azure says about a blob, in flystore's terms: access tiers, metadata, errors, attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...attributes import FileAttributes

#: Access tiers a block blob can be written with (``put_with_tier``, ``put(..., tier=...)``).
TIERS = ("Hot", "Cool", "Cold", "Archive")

# Write options (``put(..., **options)``) this driver understands, mapped to ContentSettings fields.
_CONTENT_OPTIONS = {
    "cache_control": "cache_control",
    "content_disposition": "content_disposition",
    "content_encoding": "content_encoding",
    "content_language": "content_language",
}

# Keys adlfs and ADLS Gen2 use to tell directories from files: never user metadata.
_RESERVED_METADATA = frozenset({"is_directory", "hdi_isfolder"})


def _is_folder_blob(metadata: Mapping[str, str] | None) -> bool:
    """Whether blob metadata marks a directory (adlfs ``is_directory`` or ADLS Gen2 ``hdi_isfolder``)."""
    return any(
        key.lower() in _RESERVED_METADATA and str(value).lower() == "true" for key, value in (metadata or {}).items()
    )


def _user_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    # Listings return an empty value as None; properties return "".
    return {
        key: "" if value is None else str(value)
        for key, value in (metadata or {}).items()
        if key.lower() not in _RESERVED_METADATA
    }


def _canonical_tier(tier: Any) -> str | None:
    """``"cool"`` -> ``"Cool"``; ``None`` for anything that is not an Azure access tier."""
    text = str(getattr(tier, "value", tier) or "")
    for known in TIERS:
        if text.lower() == known.lower():
            return known
    return None


def _error_code(cause: BaseException) -> str:
    return str(getattr(cause, "error_code", None) or "")


def _describe(cause: BaseException) -> str:
    """A one-line reason from an Azure SDK error (status, error code, first message line)."""
    status = getattr(cause, "status_code", None)
    code = _error_code(cause)
    text = str(cause).strip()
    first = text.splitlines()[0] if text else type(cause).__name__
    label = " ".join(part for part in (f"HTTP {status}" if status else "", code) if part)
    return f"Azure refused the request ({label}): {first}" if label else f"{type(cause).__name__}: {first}"


def _attributes(path: str, blob: Any) -> FileAttributes:
    """The attributes of a file from its blob properties (or its listing item)."""
    settings = blob.content_settings
    md5 = bytes(settings.content_md5).hex() if settings is not None and settings.content_md5 else None
    extra: dict[str, Any] = {
        "tier": _canonical_tier(blob.blob_tier),
        "etag": f'"{str(blob.etag).strip(chr(34))}"' if blob.etag else None,  # listings drop the quotes
        "blob_type": str(getattr(blob.blob_type, "value", blob.blob_type) or "") or None,
    }
    if blob.archive_status:
        extra["archive_status"] = blob.archive_status
    if settings is not None:
        for option, field_name in _CONTENT_OPTIONS.items():
            value = getattr(settings, field_name, None)
            if value:
                extra[option] = value
    return FileAttributes(
        path,
        size=int(blob.size or 0),
        last_modified=blob.last_modified,
        mime_type=(settings.content_type if settings is not None else None) or None,
        visibility=None,
        checksum=f"md5:{md5}" if md5 else None,
        metadata=_user_metadata(blob.metadata),
        extra=extra,
    )
