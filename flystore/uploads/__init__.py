"""Uploads that cannot hurt you: size limits while streaming, type by content, clamd, safe names.

``UploadHandler(UploadConfig(...)).process_file(file)`` validates while it stores; a refused
upload raises ``UploadRejected`` (``reason`` is machine-readable) and leaves nothing behind.
"""

from __future__ import annotations

from ..errors import UploadRejected
from .clamd import ClamdError, ClamdStream, ScanResult, resolve_address, scan_stream
from .config import UploadConfig, UploadResult
from .filenames import clean_original_name
from .handler import UploadHandler
from .middleware import UploadLimitMiddleware
from .pipeline import ImageOptimizer, ImageResizer, MetadataExtractor, Pipeline, Step, VirusScanner
from .validation import FileValidator

__all__ = [
    "ClamdError",
    "ClamdStream",
    "FileValidator",
    "ImageOptimizer",
    "ImageResizer",
    "MetadataExtractor",
    "Pipeline",
    "ScanResult",
    "Step",
    "UploadConfig",
    "UploadHandler",
    "UploadLimitMiddleware",
    "UploadRejected",
    "UploadResult",
    "VirusScanner",
    "clean_original_name",
    "put_upload",
    "resolve_address",
    "scan_stream",
]


async def put_upload(disk: object, file: object, folder: str, name: str | None = None, **options: object) -> str:
    """``disk.put_upload``: validate and store ``file`` under ``folder`` on ``disk``; returns the path.

    Raises:
        UploadRejected: a rule was broken; nothing was stored.
    """
    progress = options.pop("progress", None)
    handler = UploadHandler(UploadConfig(disk=disk, upload_path=folder, **options))  # type: ignore[arg-type]
    result = await handler.process_file(file, name=name, progress=progress)  # type: ignore[arg-type]
    return result.file_path
