"""Which files the browser may show inline, and the headers that keep an inline file inert.

Only types a browser renders without running anything are served inline: raster images,
PDF (the browser's own viewer), plain text. SVG may carry script, so it is served inline under
a ``sandbox`` Content-Security-Policy (in an ``<img>`` it runs nothing anyway). Everything else,
HTML above all, is an attachment: an uploaded page never runs in this origin.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["INLINE_TYPES", "inline_headers"]

INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "image/x-icon",
        "image/vnd.microsoft.icon",
        "image/svg+xml",
        "application/pdf",
        "text/plain",
    }
)
_SANDBOXED = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
_PLAIN = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; object-src 'self'"


def inline_headers(name: str, mime: str) -> dict[str, str]:
    """Headers showing ``name`` inline when its type is safe; ``{}`` (an attachment) otherwise.

    Text types other than ``text/plain`` (CSV, Markdown, JSON, source code) are shown as
    ``text/plain`` so that no browser treats them as a document.
    """
    kind = mime.split(";")[0].strip().lower()
    if kind.startswith("text/") or kind in ("application/json", "application/xml", "application/x-yaml"):
        if kind in ("text/html", "application/xhtml+xml"):
            return {}
        kind = "text/plain"
    if kind not in INLINE_TYPES:
        return {}
    headers = {
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}",
        "Content-Security-Policy": _SANDBOXED if kind in ("image/svg+xml", "text/plain") else _PLAIN,
    }
    if kind == "text/plain":
        headers["Content-Type"] = "text/plain; charset=utf-8"
    return headers
