"""The local disk's fsspec view: ``ls``/``find`` of a symlinked directory refuse instead of saying "missing".

The generic bridge answers ``ls`` of something that is neither a file nor a
directory with ``FileNotFoundError`` (and ``find`` with nothing). On a local
disk such a path may be a symlink, which every other verb refuses with
``PathTraversalDetected``; ``ls`` and ``find`` (and ``walk``, which calls
``ls``) do the same here.
"""

from __future__ import annotations

from typing import Any

from ...fsspec_bridge import DiskFileSystem

__all__ = ["LocalDiskFileSystem"]


class LocalDiskFileSystem(DiskFileSystem):
    """``DiskFileSystem`` whose listings refuse symbolic links."""

    def _refuse_links(self, path: Any) -> None:
        stripped = self._strip_protocol(path)
        if stripped and not self.disk.file_exists(stripped) and not self.disk.directory_exists(stripped):
            self.disk.list(stripped)  # raises PathTraversalDetected for a link; a missing path lists nothing

    def ls(self, path: Any, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Entries of ``path``.

        Raises:
            PathTraversalDetected: ``path`` is, or crosses, a symbolic link.
            FileNotFoundError: nothing is at ``path``.
        """
        self._refuse_links(path)
        return super().ls(path, detail=detail, **kwargs)  # type: ignore[no-any-return]

    def find(self, path: Any, *args: Any, **kwargs: Any) -> Any:
        """Every file under ``path``, as fsspec's ``find``.

        Raises:
            PathTraversalDetected: ``path`` is, or crosses, a symbolic link.
        """
        self._refuse_links(path)
        return super().find(path, *args, **kwargs)
