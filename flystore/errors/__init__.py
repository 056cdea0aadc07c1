"""Every exception flystore raises.

The tree::

    StorageError                         base of everything flystore raises
    ├── ConfigurationError (ValueError)
    │   ├── DiskNotConfigured
    │   ├── DriverNotInstalled (ImportError)   message names the pip extra
    │   └── InvalidConfiguration               names the disk and the option
    │       └── DriverNotFound                 option 'driver' names no driver
    ├── InvalidPath (ValueError)
    │   └── PathTraversalDetected              "..", NUL/control chars, symlinks out of a jail
    ├── InvalidSignedUrl (ValueError)          expired or tampered temporary URL
    ├── IntegrityError                         tampered/truncated ciphertext, checksum mismatch
    ├── ReplicationIncomplete                  fewer replicas than the write quorum took a change
    ├── UploadRejected (ValueError)            .reason, .errors
    └── OperationFailed
        ├── FileNotFound (FileNotFoundError)
        │   └── VersionNotFound                no such version of this path (versioned disks)
        ├── FileAlreadyExists (FileExistsError)
        ├── ReadOnlyDisk (PermissionError)
        ├── UnsupportedOperation               the backend cannot do this at all
        ├── UnableToReadFile
        ├── UnableToWriteFile
        │   ├── InvalidMetadata (ValueError)   metadata the backend cannot hold exactly
        │   └── QuotaExceeded                  a tenant's max_bytes/max_files; nothing was stored
        ├── UnableToDeleteFile
        ├── UnableToDeleteDirectory
        ├── UnableToCreateDirectory
        ├── UnableToCopyFile
        ├── UnableToMoveFile
        ├── UnableToRetrieveMetadata
        ├── UnableToCheckExistence
        ├── UnableToListContents
        ├── UnableToSetVisibility
        ├── UnableToProvideChecksum
        └── UnableToGenerateUrl
            ├── UnableToGeneratePublicUrl
            └── UnableToGenerateTemporaryUrl

Every error carries ``disk`` (the disk's configured name, filled in by the disk
that raised it), ``path`` (the path the user passed, never a physical key),
``operation`` and ``reason``; the backend's original exception is ``__cause__``.
The message is built from those attributes, so it stays right after a scoped
disk rewrites the path or a disk fills in its name.

Note the split a caller should know: reading a missing file raises
``FileNotFound``, not ``UnableToReadFile``; ``UnableToReadFile`` means the file
may exist but could not be read.

The classes live in one module per branch (``base``, ``configuration``, ``paths``,
``integrity``, ``operations``) but belong to ``flystore.errors``: import them from
here; their ``__module__`` says ``flystore.errors`` so pickles, reprs and the docs
name them as before the split.
"""

from __future__ import annotations

from .base import StorageError, _rebuild
from .configuration import (
    ConfigurationError,
    DiskNotConfigured,
    DriverNotFound,
    DriverNotInstalled,
    InvalidConfiguration,
)
from .integrity import IntegrityError, ReplicationIncomplete, UploadRejected, _rebuild_replication
from .operations import (
    FileAlreadyExists,
    FileNotFound,
    InvalidMetadata,
    OperationFailed,
    QuotaExceeded,
    ReadOnlyDisk,
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
    VersionNotFound,
    _rebuild_quota,
    _TwoPathError,
)
from .paths import InvalidPath, InvalidSignedUrl, PathTraversalDetected

__all__ = [
    "ConfigurationError",
    "DiskNotConfigured",
    "DriverNotFound",
    "DriverNotInstalled",
    "FileAlreadyExists",
    "FileNotFound",
    "IntegrityError",
    "InvalidConfiguration",
    "InvalidMetadata",
    "InvalidPath",
    "InvalidSignedUrl",
    "OperationFailed",
    "PathTraversalDetected",
    "QuotaExceeded",
    "ReadOnlyDisk",
    "ReplicationIncomplete",
    "StorageError",
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
    "VersionNotFound",
]


# Pickle finds a class or function by __module__ + __qualname__: pointing them here keeps every
# pickle (old ones too) naming flystore.errors.X, which stays importable whatever module defines X.
for _error in (*(globals()[_name] for _name in __all__), _TwoPathError):
    _error.__module__ = __name__
for _function in (_rebuild, _rebuild_replication, _rebuild_quota):
    _function.__module__ = __name__
del _error, _function
