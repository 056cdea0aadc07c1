"""The ``read_only`` decorator: reads pass through, every write raises ``ReadOnlyDisk``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, BinaryIO, NoReturn

from ..attributes import FileAttributes, WriteOptions
from ..backend import Readable
from ..errors import ReadOnlyDisk
from .base import DecoratedBackend

__all__ = ["ReadOnlyBackend", "create"]


class ReadOnlyBackend(DecoratedBackend):
    """Refuses every write before it reaches the wrapped backend (or any cache)."""

    @staticmethod
    def _refuse(path: str, what: str) -> NoReturn:
        raise ReadOnlyDisk.at(path, f"the disk is read-only; {what} is not allowed")

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        self._refuse(path, "writing")

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self._refuse(path, "writing")

    def write_new(self, path: str, stream: Readable, options: WriteOptions) -> None:
        self._refuse(path, "writing")  # before any existence check: read-only, not "already exists"

    def quick_stat(self, path: str) -> FileAttributes:
        return self.inner.quick_stat(path)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        self._refuse(path, "writing")

    def delete(self, path: str) -> bool:
        self._refuse(path, "deleting")

    def create_directory(self, path: str, options: WriteOptions) -> None:
        self._refuse(path, "creating a directory")

    def delete_directory(self, path: str) -> bool:
        self._refuse(path, "deleting a directory")

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        self._refuse(destination, "copying")

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        self._refuse(source, "moving")

    def set_visibility(self, path: str, visibility: str) -> None:
        self._refuse(path, "changing visibility")

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        self._refuse(path, "an upload URL")


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """``{"driver": "read_only", "disk": "<other disk>"}``."""
    from ..config import reject_unknown_options
    from ..disk import FilesystemAdapter

    reject_unknown_options(name, options, {"disk"})
    inner = manager._resolve_inner(name, options)
    config = {**inherited_config(inner.config), **{k: v for k, v in options.items() if k != "disk"}}
    return FilesystemAdapter(ReadOnlyBackend(inner.backend), name=name, config=config, manager=manager)


def inherited_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The options a decorator disk takes over from the disk it wraps."""
    return {key: config[key] for key in ("url", "visibility", "signing_key", "serve_prefix") if config.get(key)}

