"""``DiskStorage``: Django's storage API answered by a flystore disk, decorators included."""

from __future__ import annotations

import io
import os
from datetime import datetime, timezone
from typing import IO, Any
from urllib.parse import urljoin

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible
from django.utils.encoding import filepath_to_uri

from ...disk import FilesystemAdapter
from ...errors import InvalidPath, UnsupportedOperation
from ...fs import hooks
from ...paths import normalize

__all__ = ["DiskStorage"]

_READ_MODES = {"r", "rb"}
_WRITE_MODES = {"w", "wb", "a", "ab"}


@deconstructible(path="flystore.integrations.django.DiskStorage")
class DiskStorage(Storage):  # type: ignore[misc]  # Django ships no type information
    """A Django storage backend on the flystore disk named ``disk``.

    The disk is looked up on every call, so ``Storage.fake("media")`` in a test
    reaches Django's ``FileField`` too. ``config`` names a flystore configuration
    file; without it the process's ``flystore.Storage`` resolves the disk (its
    ``FLYSTORE_CONFIG`` / ``config/filesystems.py`` / embedded default).

    Args:
        disk: the disk's name; ``None`` is the default disk.
        config: a flystore configuration file, read once per process.
        base_url: URLs become ``base_url`` + the name instead of the disk's own ``url()``.
        temporary_urls: seconds; ``url()`` returns signed temporary URLs of that lifetime.
        overwrite: a name already taken is overwritten instead of getting a random suffix.
    """

    def __init__(
        self,
        disk: str | None = None,
        *,
        config: str | None = None,
        base_url: str | None = None,
        temporary_urls: int | None = None,
        overwrite: bool = False,
    ) -> None:
        if base_url is not None and not base_url.endswith("/"):
            base_url += "/"
        self.disk_name = disk
        self.config = config
        self.base_url = base_url
        self.temporary_urls = temporary_urls
        self.overwrite = overwrite

    @property
    def disk(self) -> FilesystemAdapter:
        """The disk, resolved now (fakes and runtime reconfiguration take effect)."""
        return hooks.manager(self.config).disk(self.disk_name)

    def _name(self, name: str | None) -> str:
        """``name`` as a path on the disk.

        Raises:
            SuspiciousFileOperation: an absolute name, or one that climbs out of the disk.
        """
        if not name:
            return ""
        text = str(name)
        if text.startswith(("/", "\\")) or os.path.isabs(text):
            raise SuspiciousFileOperation(f"Detected path traversal attempt in {text!r}: absolute names are refused")
        try:
            return normalize(text)
        except InvalidPath as error:
            raise SuspiciousFileOperation(f"Detected path traversal attempt in {text!r}: {error.reason}") from error

    # Files ---------------------------------------------------------------------------------------

    def _open(self, name: str, mode: str = "rb") -> File[Any]:
        """A Django ``File`` reading or writing ``name``; text modes decode as UTF-8.

        Raises:
            FileNotFoundError: reading a missing file (flystore's ``FileNotFound``).
            ValueError: a mode other than r, rb, w, wb, a, ab.
        """
        target = self._name(name)
        return DiskFile(self._stream(target, mode), target, self, mode)

    def _stream(self, target: str, mode: str) -> IO[Any]:
        binary_mode = mode.replace("t", "")
        if not binary_mode.endswith("b"):
            binary_mode += "b"
        if binary_mode[:-1] in _READ_MODES:
            stream: IO[Any] = self.disk.open(target, "rb")
        elif binary_mode in _WRITE_MODES:
            stream = self.disk.open(target, binary_mode)
        else:
            raise ValueError(f"DiskStorage opens files with r, rb, w, wb, a or ab, not {mode!r}")
        if "b" not in mode:
            stream = io.TextIOWrapper(stream, encoding="utf-8")  # type: ignore[arg-type]
        return stream

    def _save(self, name: str, content: File[Any]) -> str:
        """Stream ``content`` to ``name``; the file appears whole or not at all.

        Raises:
            UnableToWriteFile: the disk refused the write (nothing is left behind).
            OSError: reading ``content`` failed (nothing is left behind).
        """
        target = self._name(name)
        options: dict[str, Any] = {}
        content_type = getattr(content, "content_type", None)
        if isinstance(content_type, str) and content_type:
            options["mimetype"] = content_type
        with self.disk.open(target, "wb", **options) as destination:
            for chunk in content.chunks():
                destination.write(chunk.encode() if isinstance(chunk, str) else chunk)
        return target

    def delete(self, name: str) -> None:
        """Delete the file ``name`` (an empty directory too); a missing name is not an error.

        Raises:
            ValueError: no name (never deletes the disk's root).
            UnableToDeleteFile: the disk refused.
        """
        if not name:
            raise ValueError("The name must be given to delete().")
        target = self._name(name)
        disk = self.disk
        if not disk.delete(target) and disk.directory_exists(target) and not disk.list(target):
            disk.delete_directory(target)

    def exists(self, name: str) -> bool:
        """True for a file or a directory at ``name``.

        Raises:
            SuspiciousFileOperation: the name leaves the disk.
            UnableToCheckExistence: the disk could not tell.
        """
        return self.disk.exists(self._name(name))

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        """``(directories, files)`` directly under ``path``, as names; a missing directory is empty.

        Raises:
            UnableToListContents: the disk failed.
        """
        directories: list[str] = []
        files: list[str] = []
        for entry in self.disk.list(self._name(path)):
            (directories if entry.is_folder else files).append(entry.name)
        return directories, files

    def size(self, name: str) -> int:
        """The size of ``name`` in bytes.

        Raises:
            FileNotFoundError: no such file (flystore's ``FileNotFound``).
        """
        return self.disk.size(self._name(name))

    def url(self, name: str | None) -> str:
        """The URL of ``name``: ``base_url`` + name, a signed temporary URL, or the disk's ``url()``.

        Raises:
            UnableToGenerateUrl: the disk has no public URL (set ``base_url`` or ``temporary_urls``).
        """
        target = self._name(name.lstrip("/\\") if name else name)
        if self.base_url is not None:
            return urljoin(self.base_url, str(filepath_to_uri(target)))
        if self.temporary_urls is not None:
            return self.disk.temporary_url(target, expires=self.temporary_urls)
        return self.disk.url(target)

    def path(self, name: str) -> str:
        """The local path of ``name`` (local disks only).

        Raises:
            NotImplementedError: the disk is not on the local filesystem (Django's convention).
        """
        try:
            return self.disk.path(self._name(name))
        except UnsupportedOperation as error:
            raise NotImplementedError("This backend doesn't support absolute paths.") from error

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        """``name`` when free (or when ``overwrite`` is on), else ``name`` with a random suffix.

        Raises:
            SuspiciousFileOperation: no name within ``max_length`` is free.
        """
        if self.overwrite:
            if max_length is not None and len(name) > max_length:
                raise SuspiciousFileOperation(f"Storage can not find an available filename for {name!r}")
            return name
        return str(super().get_available_name(name, max_length=max_length))

    # Times: aware UTC with USE_TZ, naive local time without, as Django's FileSystemStorage answers.

    def get_modified_time(self, name: str) -> datetime:
        """When ``name`` last changed.

        Raises:
            FileNotFoundError: no such file.
        """
        return _django_time(self.disk.last_modified(self._name(name)))

    def get_accessed_time(self, name: str) -> datetime:
        """When ``name`` was last read (local disks only).

        Raises:
            NotImplementedError: the disk does not record access times.
        """
        return _django_time(datetime.fromtimestamp(os.stat(self.path(name)).st_atime, tz=timezone.utc))

    def get_created_time(self, name: str) -> datetime:
        """When ``name``'s inode last changed, as Django's FileSystemStorage answers (local disks only).

        Raises:
            NotImplementedError: the disk does not record it.
        """
        return _django_time(datetime.fromtimestamp(os.stat(self.path(name)).st_ctime, tz=timezone.utc))


class DiskFile(File):  # type: ignore[misc]
    """A file of a ``DiskStorage`` that can be reopened after ``close()`` (Django's ``File`` cannot, off disk)."""

    def __init__(self, stream: IO[Any], name: str, storage: DiskStorage, mode: str) -> None:
        super().__init__(stream, name=name)
        self.mode = mode
        self._storage = storage

    def open(self, mode: str | None = None, *args: Any, **kwargs: Any) -> DiskFile:
        """Rewind an open file, or open a closed one again through its disk (``mode`` defaults to the last).

        Raises:
            FileNotFoundError: reopening for reading a file deleted meanwhile.
        """
        if not self.closed:
            self.seek(0)
            return self
        self.mode = mode or self.mode
        self.file = self._storage._stream(str(self.name), self.mode)
        return self


def _django_time(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if settings.USE_TZ:
        return moment.astimezone(timezone.utc)
    return moment.astimezone().replace(tzinfo=None)
