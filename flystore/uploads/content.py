"""What the bytes are: type detection (puremagic plus our own executable/markup checks) and SVG sanitising.

puremagic is a maintained, pure-Python signature database (no libmagic to install, the
same answer on every machine); the checks that matter most for safety (executables,
scripts, server-side and browser markup) are ours, so they do not depend on its ranking.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

from ..errors import DriverNotInstalled

__all__ = [
    "EXPECTED_TYPES",
    "MarkupScanner",
    "SvgRefused",
    "detect_type",
    "executable_kind",
    "is_svg",
    "mime_allowed",
    "sanitize_svg",
]

#: The types a file with this extension may really hold (checked against the bytes).
EXPECTED_TYPES: dict[str, frozenset[str]] = {
    ".jpg": frozenset({"image/jpeg"}),
    ".jpeg": frozenset({"image/jpeg"}),
    ".jpe": frozenset({"image/jpeg"}),
    ".png": frozenset({"image/png"}),
    ".gif": frozenset({"image/gif"}),
    ".webp": frozenset({"image/webp"}),
    ".bmp": frozenset({"image/bmp", "image/x-ms-bmp"}),
    ".tif": frozenset({"image/tiff"}),
    ".tiff": frozenset({"image/tiff"}),
    ".ico": frozenset({"image/x-icon", "image/vnd.microsoft.icon"}),
    ".avif": frozenset({"image/avif"}),
    ".heic": frozenset({"image/heic", "image/heif"}),
    ".svg": frozenset({"image/svg+xml"}),
    ".pdf": frozenset({"application/pdf"}),
    ".zip": frozenset({"application/zip"}),
    ".gz": frozenset({"application/gzip", "application/x-gzip"}),
    ".mp3": frozenset({"audio/mpeg"}),
    ".mp4": frozenset({"video/mp4"}),
    ".txt": frozenset({"text/plain"}),
    ".csv": frozenset({"text/csv", "text/plain"}),
    ".md": frozenset({"text/markdown", "text/plain"}),
    ".json": frozenset({"application/json", "text/plain"}),
}
_OOXML = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
for _ext, _mime in _OOXML.items():
    # An OOXML file is a ZIP; signature databases can only tell which one from names deep inside it.
    EXPECTED_TYPES[_ext] = frozenset({_mime, "application/zip", *_OOXML.values()})
_CANONICAL = {ext: _OOXML.get(ext) or sorted(types)[0] for ext, types in EXPECTED_TYPES.items()}
_CANONICAL[".csv"], _CANONICAL[".md"], _CANONICAL[".json"] = "text/csv", "text/markdown", "application/json"
_TEXT_EXTENSIONS = {".txt", ".csv", ".md", ".json"}

_EXECUTABLE_MAGIC = (
    (b"MZ", "a Windows (PE/DOS) executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xfe\xed\xfa\xce", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"#!", "a script with a shebang line"),
)
_HEAD_MARKUP = re.compile(
    rb"<\?php|<\?=|<%[@=]?|<script\b|<html\b|<!doctype\s+html|<body\b|<iframe\b|<object\b|<embed\b",
    re.IGNORECASE,
)
# In binary heads only markers of six bytes or more: "<%" and "<?=" turn up by chance in random
# bytes (two or three bytes: in most 64 KiB of a zip or a JPEG), and a server interprets them only
# in a text file, which the full list above covers.
_BINARY_HEAD_MARKUP = re.compile(
    rb"<\?php|<script\b|<html\b|<!doctype\s+html|<body\b|<iframe\b|<object\b|<embed\b",
    re.IGNORECASE,
)
# Anywhere in the stream: patterns long enough that random binary data practically never holds them.
_DEEP_MARKUP = re.compile(rb"<\?php|<script\b", re.IGNORECASE)
_OVERLAP = 16


def executable_kind(head: bytes) -> str | None:
    """What executable or script the first bytes are (``None`` when they are not one)."""
    for magic, kind in _EXECUTABLE_MAGIC:
        if head.startswith(magic):
            return kind
    return None


def head_markup(head: bytes) -> str | None:
    """Server-side or browser markup in the first bytes (PHP, ASP/JSP, HTML, script).

    ASP/JSP ``<%`` and PHP's ``<?=`` count in text only (see ``_BINARY_HEAD_MARKUP``).
    """
    pattern = _HEAD_MARKUP if _looks_like_text(head) else _BINARY_HEAD_MARKUP
    match = pattern.search(head)
    return match.group(0).decode("latin-1") if match else None


def _deep_markup(data: bytes) -> str | None:
    # Counting "<" runs at memory speed; when there are few, checking each beats a regex scan.
    if data.count(b"<") <= 64:
        index = data.find(b"<")
        while index >= 0:
            match = _DEEP_MARKUP.match(data, index)
            if match:
                return match.group(0).decode("latin-1")
            index = data.find(b"<", index + 1)
        return None
    match = _DEEP_MARKUP.search(data)
    return match.group(0).decode("latin-1") if match else None


class MarkupScanner:
    """Looks for PHP and script tags across chunk boundaries (GIF+PHP or JPEG+PHP polyglots)."""

    def __init__(self) -> None:
        self._tail = b""
        self.found: str | None = None

    def feed(self, chunk: bytes) -> None:
        if self.found is not None or not chunk:
            return
        window = self._tail + chunk[:_OVERLAP] if self._tail else b""
        found = (_deep_markup(window) if window else None) or _deep_markup(chunk)
        if found:
            self.found = found
        self._tail = chunk[-_OVERLAP:]


def is_svg(head: bytes) -> bool:
    """Whether the bytes are an SVG document (XML whose root is ``<svg``)."""
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<svg", b"<?xml", b"<!--", b"<!doctype svg")) and b"<svg" in text


def _looks_like_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(head) - 4  # a multi-byte character cut by the end of the head
    return True


def detect_type(head: bytes, extension: str) -> tuple[str, bool]:
    """The MIME type the bytes hold and whether it matches ``extension``.

    Unknown binary content is ``application/octet-stream``; it matches only extensions
    without a known signature.

    Raises:
        DriverNotInstalled: puremagic (the ``uploads`` extra) is missing.
    """
    try:
        import puremagic
    except ModuleNotFoundError as cause:
        raise DriverNotInstalled.for_extra("uploads", "type detection of uploads", cause=cause) from cause
    expected = EXPECTED_TYPES.get(extension)
    if is_svg(head):
        return "image/svg+xml", expected is None or "image/svg+xml" in expected
    detected: str | None = None
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    candidates = {m.mime_type for m in matches if m.mime_type}
    if expected is not None and candidates & expected:
        return _CANONICAL[extension], True
    if candidates:
        detected = max((m for m in matches if m.mime_type), key=lambda m: m.confidence).mime_type
    textual = detected is None or detected.startswith("text/") or detected == "application/json"
    if extension in _TEXT_EXTENSIONS and textual and _looks_like_text(head):
        return _CANONICAL[extension], True
    if detected is None:
        detected = "text/plain" if head and _looks_like_text(head) else "application/octet-stream"
    return detected, expected is None


def mime_allowed(mime: str, allowed: frozenset[str] | None) -> bool:
    """``mime`` against an allow-list that may hold ``type/*`` wildcards (``None`` allows all)."""
    if allowed is None:
        return True
    return mime in allowed or f"{mime.split('/')[0]}/*" in allowed


class SvgRefused(ValueError):
    """The SVG cannot be made safe (not XML, or it declares a DOCTYPE/entities)."""


_SVG_DROP = {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener", "style"}
_SAFE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp);", re.IGNORECASE)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def sanitize_svg(data: bytes) -> bytes:
    """Remove scripts, event handlers, foreign content, styles and non-local links from an SVG.

    Returns the input unchanged when there is nothing to remove.

    Raises:
        SvgRefused: not well-formed XML, or it has a DOCTYPE (entity expansion).
    """
    if re.search(rb"<!doctype|<!entity", data, re.IGNORECASE):
        raise SvgRefused("SVG with a DOCTYPE or entities is refused")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as cause:
        raise SvgRefused(f"the SVG is not well-formed XML: {cause}") from cause
    changed = False
    for parent in list(root.iter()):
        for child in list(parent):
            if _local(child.tag) in _SVG_DROP:
                parent.remove(child)
                changed = True
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            local = _local(name)
            flat = re.sub(r"\s", "", value).lower()
            bad_link = local == "href" and not (flat.startswith("#") or _SAFE_DATA.match(flat))
            if (
                local.startswith("on")
                or bad_link
                or "javascript:" in flat
                or "vbscript:" in flat
                or (local == "style" and ("url(" in flat or "expression(" in flat))
            ):
                del element.attrib[name]
                changed = True
    if _local(root.tag) in _SVG_DROP:
        raise SvgRefused("the SVG's root element is not drawable")
    if not changed:
        return data
    ElementTree.register_namespace("", "http://www.w3.org/2000/svg")
    ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    cleaned: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return cleaned
