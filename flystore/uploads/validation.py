"""``FileValidator``: name, type-by-content and virus checks, each raising ``UploadRejected(reason=...)``."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from typing import Any

from ..errors import UploadRejected
from .clamd import ClamdError, ClamdStream
from .config import UploadConfig
from .content import detect_type, executable_kind, head_markup, is_svg, mime_allowed
from .filenames import dangerous_inner_extension, extension_of

__all__ = ["FileValidator", "reject"]


def reject(reason: str, message: str, filename: str | None, disk: str | None = None) -> UploadRejected:
    """An ``UploadRejected`` whose ``reason`` is machine-readable and whose message names the file."""
    # ``reason`` is the machine code; the words ride in ``operation`` so str() (and pickling) keeps both.
    return UploadRejected(reason, errors=[message], path=filename, disk=disk, operation=f"accept upload ({message})")


class FileValidator:
    """The checks of an upload, usable on their own.

    Args:
        config: the limits (an ``UploadConfig``); keyword options override or build one.
        clamd: ``unix:///path`` or ``tcp://host:port`` (else CLAMD_SOCKET, CLAMD_HOST+PORT, default).
    """

    def __init__(self, config: UploadConfig | None = None, *, clamd: str | None = None, **options: Any) -> None:
        self.config = config if config is not None else UploadConfig(**options)
        self.clamd = clamd or self.config.clamd
        self.disk_name: str | None = None

    @property
    def svg_allowed(self) -> bool:
        """SVG only when named explicitly in an allow-list (it is a script-capable document)."""
        exts, mimes = self.config.extensions, self.config.mime_types
        return bool((exts and ".svg" in exts) or (mimes and "image/svg+xml" in mimes))

    def validate_file_type(self, filename: str) -> str:
        """Check the (cleaned) client name; returns its extension.

        Raises:
            UploadRejected: ``extension_not_allowed`` for server-executable extensions anywhere in
                the name (``a.php.jpg``) or an extension outside ``allowed_extensions``.
        """
        extension = extension_of(filename)
        dangerous = dangerous_inner_extension(filename)
        if dangerous:
            raise reject("extension_not_allowed", f"{dangerous} files may run on a server", filename, self.disk_name)
        allowed = self.config.extensions
        if allowed is not None and extension not in allowed:
            shown = extension or "no extension"
            raise reject("extension_not_allowed", f"{shown} is not one of {sorted(allowed)}", filename, self.disk_name)
        return extension

    def validate_file_content(self, head: bytes, filename: str) -> str:
        """Check the first bytes against the name and the allow-lists; returns the real MIME type.

        Raises:
            UploadRejected: ``malicious_content`` (executable, script or markup bytes; SVG when not
                allowed), ``type_mismatch`` (bytes of another type than the extension says),
                ``type_not_allowed`` (outside ``allowed_mime_types``).
        """
        extension = extension_of(filename)
        kind = executable_kind(head)
        if kind:
            raise reject("malicious_content", f"the content is {kind}", filename, self.disk_name)
        svg = is_svg(head)
        if svg and not self.svg_allowed:
            raise reject(
                "malicious_content", "SVG documents can carry scripts and are not allowed", filename, self.disk_name
            )
        markup = None if svg else head_markup(head)
        if markup:
            raise reject("malicious_content", f"the content holds {markup!r} markup", filename, self.disk_name)
        mime, matches = detect_type(head, extension)
        if not matches:
            raise reject(
                "type_mismatch",
                f"the bytes are {mime}, not what {extension or 'the name'} says",
                filename,
                self.disk_name,
            )
        if not mime_allowed(mime, self.config.mime_types):
            raise reject("type_not_allowed", f"{mime} is not an allowed type", filename, self.disk_name)
        return mime

    def open_scan(self, filename: str | None = None) -> ClamdStream | None:
        """An INSTREAM session for streaming scans (``None`` when clamd is down and fail-open is set).

        Raises:
            UploadRejected: ``scanner_unavailable`` when clamd cannot be reached (fail closed).
        """
        try:
            return ClamdStream(self.clamd, timeout=self.config.clamd_timeout)
        except ClamdError as cause:
            if self.config.virus_scan_fail_open:
                return None
            raise reject("scanner_unavailable", str(cause), filename, self.disk_name) from cause

    def scan_for_viruses(
        self, data: bytes | str | os.PathLike[str] | io.IOBase | Iterable[bytes], filename: str | None = None
    ) -> None:
        """Scan bytes, a local path, a binary file object or an iterable of chunks with clamd.

        Raises:
            UploadRejected: ``virus_found`` naming the signature; ``scanner_unavailable`` when clamd
                gives no verdict (unless ``virus_scan_fail_open``).
        """
        if isinstance(data, (str, os.PathLike)):
            with open(data, "rb") as handle:
                return self.scan_for_viruses(handle, filename or os.fspath(data))
        stream = self.open_scan(filename)
        if stream is None:
            return None
        try:
            if isinstance(data, (bytes, bytearray, memoryview)):
                stream.send(bytes(data))
            elif hasattr(data, "read"):
                while chunk := data.read(self.config.chunk_size):
                    stream.send(chunk)
            else:
                for chunk in data:
                    stream.send(chunk)
            verdict = stream.finish()
        except ClamdError as cause:
            if self.config.virus_scan_fail_open:
                return None
            raise reject("scanner_unavailable", str(cause), filename, self.disk_name) from cause
        finally:
            stream.close()
        if verdict.infected:
            raise reject("virus_found", f"clamd found {verdict.signature}", filename, self.disk_name)
        return None
