"""``UploadConfig`` (what an upload may be) and ``UploadResult`` (what was stored)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["UploadConfig", "UploadResult"]


def _extensions(values: Iterable[str] | None) -> frozenset[str] | None:
    if values is None:
        return None
    return frozenset("." + value.lower().lstrip(".") for value in values)


@dataclass
class UploadConfig:
    """What an upload may be and where it goes.

    ``allowed_extensions``/``allowed_mime_types`` of ``None`` allow any type that passes the
    content checks (server-executable extensions are refused whatever the lists say).
    ``disk`` is a disk name, a disk object, or ``None`` for the default disk.
    ``virus_scan_fail_open=True`` stores files when clamd is down: a documented risk.
    """

    max_file_size: int = 10 * 1024 * 1024
    allowed_extensions: Iterable[str] | None = None
    allowed_mime_types: Iterable[str] | None = None
    upload_path: str = "uploads"
    organize_by_date: bool = False
    generate_thumbnails: bool = False
    thumbnail_sizes: list[tuple[int, int]] = field(default_factory=lambda: [(150, 150), (300, 300)])
    virus_scan: bool = False
    disk: Any = None
    clamd: str | None = None
    clamd_timeout: float = 30.0
    virus_scan_fail_open: bool = False
    max_image_pixels: int = 50_000_000
    visibility: str | None = None
    chunk_size: int = 1024 * 1024

    def __post_init__(self) -> None:
        self.allowed_extensions = _extensions(self.allowed_extensions)
        if self.allowed_mime_types is not None:
            self.allowed_mime_types = frozenset(m.lower() for m in self.allowed_mime_types)
        if self.max_file_size <= 0:
            raise ValueError("max_file_size must be positive")

    @property
    def extensions(self) -> frozenset[str] | None:
        """The normalised extension allow-list (``.jpg`` form)."""
        return self.allowed_extensions  # type: ignore[return-value]  # normalised in __post_init__

    @property
    def mime_types(self) -> frozenset[str] | None:
        """The normalised MIME allow-list."""
        return self.allowed_mime_types  # type: ignore[return-value]  # normalised in __post_init__


@dataclass
class UploadResult:
    """A stored upload: its path on the disk, its URL (None when the disk has none), thumbnails, metadata."""

    file_path: str
    url: str | None
    thumbnails: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"file_path": self.file_path, "url": self.url, "thumbnails": self.thumbnails, "metadata": self.metadata}
