"""flystore: a Laravel-style filesystem facade for Python, on fsspec.

    from flystore import Storage
    Storage.disk("s3").put("avatars/1.jpg", data)
"""

from __future__ import annotations

from .attributes import DirectoryAttributes, FileAttributes, WriteOptions
from .backend import Backend
from .config import env
from .decorators.audited import AuditedFilesystemAdapter
from .decorators.cached import CachedFilesystemAdapter
from .decorators.cdn import CDNFilesystemAdapter
from .decorators.compressed import CompressedFilesystemAdapter
from .decorators.deduplicated import DeduplicatedFilesystemAdapter
from .decorators.encrypted import EncryptedFilesystemAdapter
from .decorators.failover import MultiBackendStorage
from .decorators.versioned import Version, VersionedFilesystemAdapter
from .disk import Disk, FilesystemAdapter
from .drivers.local import LocalFilesystemAdapter
from .errors import (
    ConfigurationError,
    DiskNotConfigured,
    DriverNotFound,
    DriverNotInstalled,
    FileAlreadyExists,
    FileNotFound,
    IntegrityError,
    InvalidConfiguration,
    InvalidMetadata,
    InvalidPath,
    InvalidSignedUrl,
    OperationFailed,
    PathTraversalDetected,
    QuotaExceeded,
    ReadOnlyDisk,
    ReplicationIncomplete,
    StorageError,
    UnableToCheckExistence,
    UnableToCopyFile,
    UnableToCreateDirectory,
    UnableToDeleteDirectory,
    UnableToDeleteFile,
    UnableToGeneratePublicUrl,
    UnableToGenerateTemporaryUrl,
    UnableToGenerateUrl,
    UnableToListContents,
    UnableToMoveFile,
    UnableToProvideChecksum,
    UnableToReadFile,
    UnableToRetrieveMetadata,
    UnableToSetVisibility,
    UnableToWriteFile,
    UnsupportedOperation,
    UploadRejected,
    VersionNotFound,
)
from .fs import hooks as _fs_hooks
from .manager import StorageManager
from .signing import SignedTarget, verify_temporary_url
from .storage import Storage

# flystore:// and unpickled disks resolve through the facade and build private managers of this class.
_fs_hooks.install(lambda: Storage, StorageManager)

__version__ = "0.1.0"

__all__ = [
    "AuditedFilesystemAdapter",
    "AzureBlobStorageAdapter",
    "Backend",
    "CDNFilesystemAdapter",
    "CachedFilesystemAdapter",
    "CompressedFilesystemAdapter",
    "ConfigurationError",
    "DeduplicatedFilesystemAdapter",
    "DirectoryAttributes",
    "Disk",
    "DiskNotConfigured",
    "DriverNotFound",
    "DriverNotInstalled",
    "EncryptedFilesystemAdapter",
    "FileAlreadyExists",
    "FileAttributes",
    "FileNotFound",
    "FilesystemAdapter",
    "GoogleCloudStorageAdapter",
    "IntegrityError",
    "InvalidConfiguration",
    "InvalidMetadata",
    "InvalidPath",
    "InvalidSignedUrl",
    "LocalFilesystemAdapter",
    "MultiBackendStorage",
    "OperationFailed",
    "PathTraversalDetected",
    "QuotaExceeded",
    "ReadOnlyDisk",
    "ReplicationIncomplete",
    "S3FilesystemAdapter",
    "SignedTarget",
    "Storage",
    "StorageError",
    "StorageManager",
    "UnableToCheckExistence",
    "UnableToCopyFile",
    "UnableToCreateDirectory",
    "UnableToDeleteDirectory",
    "UnableToDeleteFile",
    "UnableToGeneratePublicUrl",
    "UnableToGenerateTemporaryUrl",
    "UnableToGenerateUrl",
    "UnableToListContents",
    "UnableToMoveFile",
    "UnableToProvideChecksum",
    "UnableToReadFile",
    "UnableToRetrieveMetadata",
    "UnableToSetVisibility",
    "UnableToWriteFile",
    "UnsupportedOperation",
    "UploadRejected",
    "Version",
    "VersionNotFound",
    "VersionedFilesystemAdapter",
    "WriteOptions",
    "env",
    "verify_temporary_url",
]

# Driver classes whose modules need an optional extra: imported on first use.
_LAZY = {
    "AzureBlobStorageAdapter": "flystore.drivers.azure",
    "GoogleCloudStorageAdapter": "flystore.drivers.gcs",
    "S3FilesystemAdapter": "flystore.drivers.s3",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flystore' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
