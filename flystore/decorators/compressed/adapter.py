"""``CompressedFilesystemAdapter`` and the ``compressed`` config driver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...disk import FilesystemAdapter
from ...errors import FileNotFound, InvalidConfiguration, StorageError
from ..read_only import inherited_config
from .backend import CompressedBackend, CompressionInfo
from .format import MAX_FRAME

if TYPE_CHECKING:
    from ...manager import StorageManager

__all__ = ["CompressedFilesystemAdapter", "create"]

_LEVELS = {"zstd": range(-7, 23), "gzip": range(1, 10)}
MIN_FRAME = 4 * 1024


def _checked(disk: str, codec: Any, level: Any, frame_size: Any) -> tuple[str, int | None, int]:
    """Raises: InvalidConfiguration: an unknown codec, a level out of its range, or a bad frame size."""
    if codec not in _LEVELS:
        raise InvalidConfiguration(f"'codec' must be 'zstd' or 'gzip', not {codec!r}", option="codec", disk=disk)
    if level is not None and (type(level) is not int or level not in _LEVELS[codec]):
        allowed = _LEVELS[codec]
        raise InvalidConfiguration(
            f"{codec} levels run from {allowed.start} to {allowed.stop - 1}, not {level!r}", option="level", disk=disk
        )
    if type(frame_size) is not int or not MIN_FRAME <= frame_size <= MAX_FRAME:
        raise InvalidConfiguration(
            f"'frame_size' must be bytes between {MIN_FRAME} and {MAX_FRAME}, not {frame_size!r}",
            option="frame_size", disk=disk,
        )
    return codec, level, frame_size


class CompressedFilesystemAdapter(FilesystemAdapter):
    """A disk that stores another disk's files compressed (see docs/compression.md).

    Args:
        base_adapter: the disk that holds the compressed form.
        codec: ``"zstd"`` (default; needs ``flystore[compress]``) or ``"gzip"`` (each file a plain .gz).
        level: the codec's level (zstd -7..22, default 3; gzip 1..9, default 6).
        frame_size: original bytes per independently readable frame (4 KiB..64 MiB, default 512 KiB).
        name: this disk's name (default: the base disk's).

    Raises:
        InvalidConfiguration: an unknown codec, a level out of range or a bad frame size.
        DriverNotInstalled: zstd was chosen and zstandard is not installed.
    """

    def __init__(
        self,
        base_adapter: FilesystemAdapter,
        codec: str = "zstd",
        level: int | None = None,
        *,
        frame_size: int = 512 * 1024,
        name: str | None = None,
        manager: StorageManager | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        disk_name = name or base_adapter.name
        codec, level, frame_size = _checked(disk_name, codec, level, frame_size)
        try:
            backend = CompressedBackend(base_adapter.backend, codec=codec, level=level, frame_size=frame_size)
        except StorageError as error:
            error.disk = disk_name
            raise
        # A 'url' of the base disk would serve the compressed form, so it is not inherited.
        merged = {k: v for k, v in inherited_config(base_adapter.config).items() if k != "url"}
        merged.update(config or {})
        super().__init__(backend, name=disk_name, config=merged, manager=manager or base_adapter.manager)
        self._compressed = backend

    def compression_info(self, path: str) -> CompressionInfo:
        """How ``path`` is stored: codec, original and stored sizes, frames, whether compression was skipped.

        Raises:
            FileNotFound: no such file.
            IntegrityError: the stored file is not a valid compressed file.
        """
        target = self._file_path(path, FileNotFound)
        try:
            return self._compressed.info(target)
        except StorageError as error:
            if error.disk is None:
                error.disk = self.name
            raise


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """``{"driver": "compressed", "disk": "<other disk>", "codec": "zstd", "level": 3, "frame_size": 524288}``."""
    from ...config import reject_unknown_options

    reject_unknown_options(name, options, {"disk", "codec", "level", "frame_size"})
    codec, level, frame_size = _checked(
        name, options.get("codec", "zstd"), options.get("level"), options.get("frame_size", 512 * 1024)
    )
    inner = manager._resolve_inner(name, options)
    own = {k: v for k, v in options.items() if k not in ("disk", "codec", "level", "frame_size")}
    return CompressedFilesystemAdapter(
        inner, codec, level, frame_size=frame_size, name=name, manager=manager, config=own
    )
