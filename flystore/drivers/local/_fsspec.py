"""The local disk's fsspec view: ``ls`` of a symlinked directory refuses instead of saying "missing".

The generic bridge answers ``ls`` of something that is neither a file nor a
directory with ``FileNotFoundError``. On a local disk such a path may be a
symlink, which every other verb refuses with ``PathTraversalDetected``; ``ls``
(and so ``find`` and ``walk``, which call it) does the same here.
"""

from __future__ import annotations

from typing import Any

from ...fsspec_bridge import DiskFileSystem

__all__ = ["LocalDiskFileSystem"]


class LocalDiskFileSystem(DiskFileSystem):
    """``DiskFileSystem`` whose ``ls`` refuses symbolic links."""

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Entries of ``path``.

        Raises:
            PathTraversalDetected: ``path`` is, or crosses, a symbolic link.
            FileNotFoundError: nothing is at ``path``.
        """
        stripped = self._strip_protocol(path)
        if not self.disk.file_exists(stripped) and not self.disk.directory_exists(stripped):
            self.disk.list(stripped)  # raises PathTraversalDetected for a link; a missing path lists nothing
            raise FileNotFoundError(path)
        return super().ls(path, detail=detail, **kwargs)
