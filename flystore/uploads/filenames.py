"""Client filenames: cleaned for display and metadata, never trusted for the stored path."""

from __future__ import annotations

import re
import secrets
import unicodedata

__all__ = ["DANGEROUS_EXTENSIONS", "clean_original_name", "dangerous_inner_extension", "extension_of", "generated_name"]

#: Extensions a web server may execute or obey (OWASP: block them whatever the allow-list says).
DANGEROUS_EXTENSIONS = frozenset(
    {
        ".php",
        ".php3",
        ".php4",
        ".php5",
        ".php7",
        ".php8",
        ".phtml",
        ".pht",
        ".phps",
        ".phar",
        ".pgif",
        ".inc",
        ".htaccess",
        ".htpasswd",
        ".asp",
        ".aspx",
        ".ascx",
        ".ashx",
        ".asmx",
        ".asa",
        ".cer",
        ".axd",
        ".config",
        ".jsp",
        ".jspx",
        ".jsw",
        ".jsv",
        ".jspf",
        ".cfm",
        ".cfml",
        ".cfc",
        ".cgi",
        ".pl",
        ".py",
        ".rb",
        ".sh",
        ".bash",
        ".exe",
        ".dll",
        ".com",
        ".bat",
        ".cmd",
        ".ps1",
        ".vbs",
        ".vbe",
        ".wsf",
        ".scr",
        ".msi",
        ".jar",
        ".war",
        ".shtml",
        ".stm",
        ".shtm",
        ".swf",
        ".hta",
        ".html",
        ".htm",
        ".xhtml",
        ".js",
        ".mjs",
    }
)

_MAX_ORIGINAL = 255
# Control characters, and the bidirectional controls that make "gpj.exe" display as "exe.jpg".
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SAFE_EXTENSION = re.compile(r"^\.[a-z0-9]{1,10}$")


def clean_original_name(name: str | None) -> str:
    """The client's name for metadata: last path segment, no control or bidi characters, <= 255 chars."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = _UNSAFE.sub("", text)
    text = re.split(r"[\\/]", text)[-1].strip().rstrip(". ") or "upload"
    if len(text) > _MAX_ORIGINAL:
        stem, dot, ext = text.rpartition(".")
        keep = "." + ext if dot and len(ext) <= 10 else ""
        text = text[: _MAX_ORIGINAL - len(keep)] + keep
    return text


def extension_of(name: str) -> str:
    """The last extension, lower-cased, of a cleaned name (``""`` when it has none or an odd one)."""
    _stem, dot, ext = name.rpartition(".")
    if not dot or not _stem:
        return ""
    candidate = "." + ext.lower().rstrip(" .")
    return candidate if _SAFE_EXTENSION.match(candidate) else ""


def dangerous_inner_extension(name: str) -> str | None:
    """A server-executable extension anywhere in the name (``photo.php.jpg``, ``a.PHP5``), else None."""
    for part in name.lower().split(".")[1:]:
        candidate = "." + part.strip(" ")
        if candidate in DANGEROUS_EXTENSIONS:
            return candidate
    return None


def generated_name(extension: str) -> str:
    """A fresh random name (32 hex characters) keeping a validated extension."""
    return secrets.token_hex(16) + extension
