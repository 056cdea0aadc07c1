"""The ``scoped`` decorator: every path lives under a prefix of the wrapped disk.

Listings come back without the prefix and errors name the user's path, never
the physical key. A scoped disk of a scoped disk joins the prefixes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO, Literal

from ..attributes import Entry, FileAttributes, WriteOptions
from ..backend import Backend, Readable
from ..errors import InvalidConfiguration, StorageError
from ..paths import normalize
from .base import DecoratedBackend
from .read_only import inherited_config

__all__ = ["PrefixedBackend", "create"]


class PrefixedBackend(DecoratedBackend):
    """Adds ``prefix/`` on the way in, strips it on the way out."""

    def __init__(self, inner: Backend, prefix: str) -> None:
        # Nesting flattens: one layer with the joined prefix does the same work once.
        owns_inner = True
        if isinstance(inner, PrefixedBackend):
            outer_prefix: str = inner.prefix
            prefix = f"{outer_prefix}/{prefix}" if prefix else outer_prefix
            # The flattened layer's backend stays its owner's: a named disk's is closed by that disk.
            owns_inner = inner.owns_inner and not inner.shared
            inner = inner.inner
        super().__init__(inner)
        self.owns_inner = owns_inner
        self.prefix: str = prefix
        self._head = prefix + "/"
        self._cut = len(prefix) + 1
        self._user_paths = _UserPaths(self)

    def _key(self, path: str) -> str:
        return self._head + path if path else self.prefix

    def _user(self, key: str) -> str:
        return key[self._cut :] if key.startswith(self._head) else ("" if key == self.prefix else key)


    def file_exists(self, path: str) -> bool:
        with self._user_paths:
            return self.inner.file_exists(self._key(path))

    def directory_exists(self, path: str) -> bool:
        with self._user_paths:
            return self.inner.directory_exists(self._key(path))

    def read(self, path: str) -> bytes:
        with self._user_paths:
            return self.inner.read(self._key(path))

    def open_read(self, path: str) -> BinaryIO:
        with self._user_paths:
            return self.inner.open_read(self._key(path))

    def stat(self, path: str) -> FileAttributes:
        with self._user_paths:
            return self.inner.stat(self._key(path)).with_path(path)

    def quick_stat(self, path: str) -> FileAttributes:
        with self._user_paths:
            return self.inner.quick_stat(self._key(path)).with_path(path)

    def list_contents(self, path: str, deep: bool) -> Iterator[Entry]:
        with self._user_paths:
            for entry in self.inner.list_contents(self._key(path), deep):
                yield entry.with_path(self._user(entry.path))

    def list_paths(self, path: str, deep: bool) -> Iterator[tuple[str, bool]]:
        to_user = self._user
        with self._user_paths:
            for key, is_folder in self.inner.list_paths(self._key(path), deep):
                yield to_user(key), is_folder

    def write(self, path: str, data: bytes, options: WriteOptions) -> None:
        with self._user_paths:
            self.inner.write(self._key(path), data, options)

    def write_new(self, path: str, stream: Readable, options: WriteOptions) -> None:
        with self._user_paths:
            self.inner.write_new(self._key(path), stream, options)

    def write_stream(self, path: str, stream: Readable, options: WriteOptions) -> None:
        with self._user_paths:
            self.inner.write_stream(self._key(path), stream, options)

    def open_write(self, path: str, options: WriteOptions) -> BinaryIO | None:
        with self._user_paths:
            return self.inner.open_write(self._key(path), options)

    def delete(self, path: str) -> bool:
        with self._user_paths:
            return self.inner.delete(self._key(path))

    def create_directory(self, path: str, options: WriteOptions) -> None:
        with self._user_paths:
            self.inner.create_directory(self._key(path), options)

    def delete_directory(self, path: str) -> bool:
        with self._user_paths:
            return self.inner.delete_directory(self._key(path))

    def copy(self, source: str, destination: str, options: WriteOptions) -> None:
        with self._user_paths:
            self.inner.copy(self._key(source), self._key(destination), options)

    def move(self, source: str, destination: str, options: WriteOptions) -> None:
        with self._user_paths:
            self.inner.move(self._key(source), self._key(destination), options)

    def set_visibility(self, path: str, visibility: str) -> None:
        with self._user_paths:
            self.inner.set_visibility(self._key(path), visibility)

    def public_url(self, path: str) -> str | None:
        return self.inner.public_url(self._key(path))

    def temporary_url(self, path: str, expires_at: datetime, options: Mapping[str, Any]) -> str | None:
        return self.inner.temporary_url(self._key(path), expires_at, options)

    def temporary_upload_url(
        self, path: str, expires_at: datetime, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
        return self.inner.temporary_upload_url(self._key(path), expires_at, options)

    def checksum(self, path: str, algorithm: str) -> str | None:
        with self._user_paths:
            return self.inner.checksum(self._key(path), algorithm)

    def local_path(self, path: str) -> str | None:
        return self.inner.local_path(self._key(path))


class _UserPaths:
    """Rewrites the paths of a flystore error leaving the block from keys to user paths."""

    __slots__ = ("_backend",)

    def __init__(self, backend: PrefixedBackend) -> None:
        self._backend = backend

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, error: BaseException | None, traceback: object) -> Literal[False]:
        if isinstance(error, StorageError):
            to_user = self._backend._user
            if error.path is not None:
                error.path = to_user(error.path)
            for attribute in ("source", "destination"):
                value = getattr(error, attribute, None)
                if value is not None:
                    setattr(error, attribute, to_user(value))
        return False


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """``{"driver": "scoped", "disk": "<other disk>", "prefix": "uploads"}``."""
    from ..config import reject_unknown_options
    from ..disk import FilesystemAdapter

    reject_unknown_options(name, options, {"disk", "prefix"})
    raw_prefix = options.get("prefix")
    if not isinstance(raw_prefix, str):
        raise InvalidConfiguration("a scoped disk needs 'prefix', a path", option="prefix", disk=name)
    try:
        prefix = normalize(raw_prefix)
    except StorageError as error:
        raise InvalidConfiguration(f"not a usable path: {error.reason}", option="prefix", disk=name) from error
    inner = manager._resolve_inner(name, options)
    config = inherited_config(inner.config)
    if config.get("url") and prefix:
        config["url"] = f"{str(config['url']).rstrip('/')}/{prefix}"
    config.update({key: value for key, value in options.items() if key not in ("disk", "prefix")})
    backend = PrefixedBackend(inner.backend, prefix) if prefix else inner.backend
    view = getattr(inner, "scoped_view", None)
    if callable(view):  # a disk with methods of its own for paths (a versioned disk's versions) keeps them
        return view(backend, prefix, name=name, config=config, manager=manager)
    return FilesystemAdapter(backend, name=name, config=config, manager=manager)
