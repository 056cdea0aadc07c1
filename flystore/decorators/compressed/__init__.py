"""The ``compressed`` decorator disk: zstd (or gzip) in independent, indexed frames."""

from .adapter import CompressedFilesystemAdapter, create
from .backend import CompressedBackend, CompressionInfo

__all__ = ["CompressedBackend", "CompressedFilesystemAdapter", "CompressionInfo", "create"]
