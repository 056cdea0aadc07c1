"""``EncryptedFilesystemAdapter`` and the ``encrypted`` config driver."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...disk import FilesystemAdapter
from ...errors import FileNotFound, InvalidConfiguration, StorageError
from ...paths import normalize
from ..read_only import inherited_config
from .backend import EncryptedBackend
from .format import KeyRing, decode_encryption_key

if TYPE_CHECKING:
    from ...manager import StorageManager

__all__ = ["EncryptedFilesystemAdapter", "create"]

#: What a rotate progress callback receives: files done, files in total, the file just handled.
RotateProgress = Callable[[int, int, str], Any]


def build_keyring(disk: str, key: Any = None, keys: Sequence[Any] | None = None) -> KeyRing:
    """Raises: InvalidConfiguration: no key, both forms at once, or a key that is not 32 bytes."""
    if key is not None and keys is not None:
        raise InvalidConfiguration("give 'key' or 'keys', not both", option="keys", disk=disk)
    if keys is None:
        if key is None or key == "":
            raise InvalidConfiguration("the encrypted disk needs a 'key' (32 bytes or base64:...)", option="key",
                                       disk=disk)
        return KeyRing([decode_encryption_key(key, disk=disk)])
    if isinstance(keys, (str, bytes)) or not list(keys):
        raise InvalidConfiguration("'keys' must be a non-empty list, newest first", option="keys", disk=disk)
    return KeyRing([decode_encryption_key(item, disk=disk, option="keys") for item in keys])


class EncryptedFilesystemAdapter(FilesystemAdapter):
    """A disk that stores another disk's files encrypted with AES-256-GCM (see docs/encryption.md).

    Args:
        base_adapter: the disk that holds the ciphertext.
        encryption_key: 32 raw bytes or ``"base64:<44 chars>"``.
        keys: instead of ``encryption_key``, keys newest first: writes use the first, reads any.
        name: this disk's name (default: the base disk's).

    Raises:
        InvalidConfiguration: a missing, short or malformed key.
    """

    def __init__(
        self,
        base_adapter: FilesystemAdapter,
        encryption_key: Any = None,
        *,
        keys: Sequence[Any] | None = None,
        name: str | None = None,
        manager: StorageManager | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        disk_name = name or base_adapter.name
        backend = EncryptedBackend(base_adapter.backend, build_keyring(disk_name, encryption_key, keys))
        # A 'url' of the base disk would serve ciphertext, so it is not inherited.
        merged = {k: v for k, v in inherited_config(base_adapter.config).items() if k != "url"}
        merged.update(config or {})
        super().__init__(backend, name=disk_name, config=merged, manager=manager or base_adapter.manager)
        self._encrypted = backend

    def rotate(self, path: str) -> bool:
        """Re-encrypt ``path`` with the first key, atomically and streamed; False if it already was.

        Raises:
            FileNotFound: no such file.
            IntegrityError: the file does not authenticate under any of the disk's keys.
        """
        target = self._file_path(path, FileNotFound)
        try:
            return self._encrypted.rotate(target)
        except StorageError as error:
            if error.disk is None:
                error.disk = self.name
            raise

    def rotate_all(self, directory: str = "", progress: RotateProgress | None = None) -> int:
        """Re-encrypt every file under ``directory`` still on an older key; returns how many were.

        ``progress(done, total, path)`` is called after each file.

        Raises:
            IntegrityError: a file does not authenticate (the files before it are rotated).
            UnableToListContents: the directory could not be listed.
        """
        paths = self.all_files(normalize(directory))
        rotated = 0
        for done, path in enumerate(paths, start=1):
            if self.rotate(path):
                rotated += 1
            if progress is not None:
                progress(done, len(paths), path)
        return rotated


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """``{"driver": "encrypted", "disk": "<other disk>", "key": ...}`` or ``"keys": [new, old]``."""
    from ...config import reject_unknown_options

    reject_unknown_options(name, options, {"disk", "key", "keys", "visibility", "signing_key", "serve_prefix"})
    inner = manager._resolve_inner(name, options)
    own = {k: v for k, v in options.items() if k not in ("disk", "key", "keys")}
    return EncryptedFilesystemAdapter(
        inner, options.get("key"), keys=options.get("keys"), name=name, manager=manager, config=own
    )
