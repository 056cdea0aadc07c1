"""``UploadHandler``: validate an upload while it streams into the disk; nothing stays when it is refused."""

from __future__ import annotations

import asyncio
import hashlib
import io
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from .._streams import ProgressCallback
from ..errors import StorageError, UploadRejected
from ..paths import normalize
from .clamd import ClamdError, ClamdStream
from .config import UploadConfig, UploadResult
from .content import EXPECTED_TYPES, MarkupScanner, SvgRefused, sanitize_svg
from .filenames import clean_original_name, generated_name
from .sources import SyncSource, open_source
from .validation import FileValidator, reject

__all__ = ["UploadHandler"]

HEAD_BYTES = 64 * 1024
_IMAGE_HEAD_MAX = 1024 * 1024
_SVG_MAX = 10 * 1024 * 1024


class _GuardedReader:
    """What the disk reads: the checked head, then the rest of the upload, counted, hashed and scanned.

    A rule broken mid-stream raises from ``read``, which makes the disk abandon the write.
    """

    def __init__(
        self,
        handler: UploadHandler,
        head: bytes,
        source: SyncSource,
        filename: str,
        scan: ClamdStream | None,
        progress: ProgressCallback | None,
    ) -> None:
        self.handler, self.source, self.filename, self.scan, self.progress = handler, source, filename, scan, progress
        self.limit = handler.config.max_file_size
        self.hash = hashlib.sha256()
        self.markup = MarkupScanner()
        self.done = 0
        self.rejection: UploadRejected | None = None
        self._pending: bytes | None = head
        self._eof = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="flystore-upload")
        self._side: Future[None] | None = None

    def _take(self, chunk: bytes) -> bytes:
        self.done += len(chunk)
        if self.done > self.limit:
            raise self._fail(
                reject(
                    "too_large", f"the file is over {self.limit} bytes", self.filename, self.handler.validator.disk_name
                )
            )
        self._join_side()
        # Hashing and the clamd send release the GIL: they overlap the scan below and the disk write.
        self._side = self._executor.submit(self._side_work, chunk)
        self.markup.feed(chunk)
        if self.markup.found:
            raise self._fail(
                reject(
                    "malicious_content",
                    f"the content holds {self.markup.found!r}",
                    self.filename,
                    self.handler.validator.disk_name,
                )
            )
        if self.progress is not None:
            self.progress(self.done, None)
        return chunk

    def _side_work(self, chunk: bytes) -> None:
        self.hash.update(chunk)
        if self.scan is not None:
            self.scan.send(chunk)

    def _join_side(self) -> None:
        side, self._side = self._side, None
        if side is None:
            return
        try:
            side.result()
        except ClamdError as cause:
            if self.scan is not None:
                self.scan.close()
            self.scan = None
            if not self.handler.config.virus_scan_fail_open:
                raise self._fail(
                    reject("scanner_unavailable", str(cause), self.filename, self.handler.validator.disk_name)
                ) from cause

    def _fail(self, error: UploadRejected) -> UploadRejected:
        self.rejection = error
        return error

    def read(self, size: int = -1) -> bytes:
        if self._pending is not None:
            head, self._pending = self._pending, None
            if head:
                return self._take(head)
        if self._eof:
            return b""
        want = self.handler.config.chunk_size if size is None or size < 0 else max(size, 1)
        chunk = self.source.read(min(want, self.limit + 1 - self.done) or 1)
        if chunk:
            return self._take(bytes(chunk))
        self._eof = True
        self._verdict()
        return b""

    def _verdict(self) -> None:
        self._join_side()
        if self.scan is None:
            return
        scan, self.scan = self.scan, None
        try:
            result = scan.finish()
        except ClamdError as cause:
            if self.handler.config.virus_scan_fail_open:
                return
            raise self._fail(
                reject("scanner_unavailable", str(cause), self.filename, self.handler.validator.disk_name)
            ) from cause
        if result.infected:
            raise self._fail(
                reject(
                    "virus_found", f"clamd found {result.signature}", self.filename, self.handler.validator.disk_name
                )
            )

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        if self.scan is not None:
            self.scan.close()

    def digest(self) -> str:
        """The SHA-256 of every byte read so far (waits for the hashing thread)."""
        side = self._side
        if side is not None:
            side.result()
        return self.hash.hexdigest()


class UploadHandler:
    """Accept uploads under ``config``; subclass and override the hooks to change a step.

    Hooks: ``validate_file_content(head, filename) -> mime``, ``store_with_hash(reader, path,
    mime, metadata) -> sha256``, ``extract_metadata(path, mime) -> dict``, ``generate_url(path)``.
    """

    def __init__(self, config: UploadConfig | None = None, *, manager: Any = None, **options: Any) -> None:
        self.config = config if config is not None else UploadConfig(**options)
        self.manager = manager
        self.validator = FileValidator(self.config)

    @property
    def disk(self) -> Any:
        """The target disk (resolved from ``config.disk``)."""
        target = self.config.disk
        if target is not None and not isinstance(target, str):
            return target
        if self.manager is None:
            from ..fs.hooks import manager as process_manager  # the facade's, without importing it

            return process_manager().disk(target)
        return self.manager.disk(target)

    async def process_file(
        self,
        file: Any,
        *,
        filename: str | None = None,
        folder: str | None = None,
        name: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """Validate ``file`` while storing it; returns what was stored.

        ``file`` is an UploadFile, a local path, a binary file object, bytes, or an async
        iterator of bytes. ``name`` (chosen by your code, never the client's) replaces the
        generated name; ``folder`` replaces ``config.upload_path``.

        Raises:
            UploadRejected: a rule was broken (``reason`` says which); nothing was stored.
            UnableToWriteFile: the disk failed; nothing was stored.
        """
        loop = asyncio.get_running_loop()
        return await asyncio.to_thread(
            self.process_file_sync, file, filename=filename, folder=folder, name=name, progress=progress, _loop=loop
        )

    def process_file_sync(
        self,
        file: Any,
        *,
        filename: str | None = None,
        folder: str | None = None,
        name: str | None = None,
        progress: ProgressCallback | None = None,
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> UploadResult:
        """``process_file`` for synchronous code (an async-iterator ``file`` needs the async form).

        Raises:
            UploadRejected: a rule was broken; nothing was stored.
            UnableToWriteFile: the disk failed; nothing was stored.
        """
        source = open_source(file, _loop)
        try:
            return self._process(source, filename or source.name, folder, name, progress)
        finally:
            source.close()

    def _target(self, folder: str | None, name: str | None, extension: str) -> str:
        base = normalize(self.config.upload_path if folder is None else folder)
        if self.config.organize_by_date:
            base = normalize(f"{base}/{datetime.now(timezone.utc):%Y/%m/%d}")
        return normalize(f"{base}/{name or generated_name(extension)}")

    def _process(
        self,
        source: SyncSource,
        client_name: str,
        folder: str | None,
        name: str | None,
        progress: ProgressCallback | None,
    ) -> UploadResult:
        disk = self.disk
        self.validator.disk_name = getattr(disk, "name", None)
        original = clean_original_name(client_name)
        extension = self.validator.validate_file_type(original)
        head = self._read_head(source, original)
        mime = self.validate_file_content(head, original)
        if mime.startswith("image/") and mime != "image/svg+xml":
            head = self._check_image_header(head, source, original)
        if not extension:  # a nameless upload keeps the extension its bytes prove
            extension = next((ext for ext, types in EXPECTED_TYPES.items() if mime in types), "")
        path = self._target(folder, name, extension)
        metadata: dict[str, Any] = {"original_filename": original}
        if mime == "image/svg+xml":
            head = self._sanitized_svg(head, source, original)
        scan = self.validator.open_scan(original) if self.config.virus_scan else None
        reader = _GuardedReader(self, head, source, original, scan, progress)
        try:
            digest = self.store_with_hash(reader, path, mime, metadata)
        except StorageError as error:
            if reader.rejection is not None:
                raise reader.rejection from None
            raise error
        finally:
            reader.close()
        if reader.rejection is not None:  # a disk that swallowed the reader's error
            disk.delete(path)
            raise reader.rejection
        info = {**metadata, "size": reader.done, "mime_type": mime, "sha256": digest, "extension": extension}
        thumbnails: dict[str, str] = {}
        try:
            info.update(self.extract_metadata(path, mime))
            if self.config.generate_thumbnails and mime.startswith("image/") and mime != "image/svg+xml":
                thumbnails = self._thumbnails(path)
        except BaseException:
            disk.delete([path, *thumbnails.values()])
            raise
        return UploadResult(path, self.generate_url(path), thumbnails, info)

    def _read_head(self, source: SyncSource, filename: str, size: int = HEAD_BYTES) -> bytes:
        buffer = bytearray()
        while len(buffer) < size:
            chunk = source.read(size - len(buffer))
            if not chunk:
                break
            buffer += chunk
            if len(buffer) > self.config.max_file_size:
                raise reject(
                    "too_large",
                    f"the file is over {self.config.max_file_size} bytes",
                    filename,
                    self.validator.disk_name,
                )
        return bytes(buffer)

    def _check_image_header(self, head: bytes, source: SyncSource, filename: str) -> bytes:
        try:
            from PIL import Image
        except ModuleNotFoundError:
            return head  # nothing decodes the image here, so there is no bomb to defuse
        while True:
            try:
                with Image.open(io.BytesIO(head)) as image:
                    width, height = image.size
                break
            except Image.DecompressionBombError as cause:
                raise reject("image_too_large", str(cause), filename, self.validator.disk_name) from cause
            except Exception as cause:
                more = self._read_head(source, filename, min(len(head), _IMAGE_HEAD_MAX - len(head)))
                if not more or len(head) >= _IMAGE_HEAD_MAX:
                    raise reject(
                        "type_mismatch", "the image header cannot be read", filename, self.validator.disk_name
                    ) from cause
                head += more
        if width * height > self.config.max_image_pixels:
            raise reject(
                "image_too_large",
                f"{width}x{height} pixels is over {self.config.max_image_pixels}",
                filename,
                self.validator.disk_name,
            )
        return head

    def _sanitized_svg(self, head: bytes, source: SyncSource, filename: str) -> bytes:
        limit = min(self.config.max_file_size, _SVG_MAX)
        data = head + self._read_head(source, filename, limit + 1 - len(head))
        if len(data) > limit:
            raise reject("too_large", f"SVG files may have at most {limit} bytes", filename, self.validator.disk_name)
        try:
            return sanitize_svg(data)
        except SvgRefused as cause:
            raise reject("malicious_content", str(cause), filename, self.validator.disk_name) from cause

    # -- hooks ----------------------------------------------------------------------

    def validate_file_content(self, head: bytes, filename: str) -> str:
        """Check the first bytes of the upload; returns the MIME type to store it with.

        Raises:
            UploadRejected: malicious_content, type_mismatch or type_not_allowed.
        """
        return self.validator.validate_file_content(head, filename)

    def store_with_hash(self, reader: Any, path: str, mime: str, metadata: dict[str, Any]) -> str:
        """Stream ``reader`` to ``path`` on the disk; returns the SHA-256 of what was stored.

        Raises:
            UnableToWriteFile: nothing was written (the reader's own rejections included).
        """
        self.disk.put(path, reader, mimetype=mime, metadata=metadata, visibility=self.config.visibility)
        return str(reader.digest())

    def extract_metadata(self, path: str, mime: str) -> dict[str, Any]:
        """Extra metadata for the result (image dimensions and EXIF for images)."""
        if not mime.startswith("image/") or mime == "image/svg+xml":
            return {}
        try:
            from ..images import ImageProcessor

            processor = ImageProcessor(disk=self.disk, max_pixels=self.config.max_image_pixels)
        except ImportError:  # Pillow (the images extra) is optional for plain uploads
            return {}
        details = processor.sync.extract_metadata(path)
        return {"image": details}

    def generate_url(self, path: str) -> str | None:
        """The URL of the stored file (``None`` when the disk cannot make one)."""
        try:
            return str(self.disk.url(path))
        except StorageError:
            return None

    def _thumbnails(self, path: str) -> dict[str, str]:
        from ..images import ImageProcessor

        processor = ImageProcessor(disk=self.disk, max_pixels=self.config.max_image_pixels)
        return processor.sync.generate_thumbnails(path, self.config.thumbnail_sizes)
