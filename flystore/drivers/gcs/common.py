"""Names the gcs modules share: the visibility metadata key, ACLs, object fields, defaults."""

from __future__ import annotations

import re

#: Custom-metadata key recording a file's visibility.
VISIBILITY_METADATA_KEY = "flystore-visibility"
_PREDEFINED_ACL = {"public": "publicRead", "private": "private"}
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
GOOGLE_STORAGE_URL = "https://storage.googleapis.com"

# Writable object fields besides contentType, by the snake_case name users give.
_FIXED_FIELDS = {
    "cache_control": "cacheControl",
    "content_disposition": "contentDisposition",
    "content_encoding": "contentEncoding",
    "content_language": "contentLanguage",
    "custom_time": "customTime",
}


def _snake(key: str) -> str:
    """``Cache-Control``, ``cacheControl`` and ``cache_control`` all become ``cache_control``."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).replace("-", "_").lower()


def _reason(cause: BaseException) -> str:
    text = str(cause).strip() or type(cause).__name__
    return text if type(cause).__name__ in text else f"{type(cause).__name__}: {text}"
