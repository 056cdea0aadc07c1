"""The disk: the rich API users call (``FilesystemAdapter``), over a ``Backend``.

The disk normalises every path once, merges the disk's defaults into each
write, holds every fallback (checksums by streaming, URLs from the ``url``
option, HMAC-signed temporary URLs, mime types by extension) and fires events.
Errors raised below it get the disk's name filled in on the way out.

The disk is a package of one concern per module, composed here:
``_verbs`` (how errors leave a verb), ``core`` (state, events, shared helpers),
``writing``, ``managing``, ``reading``, ``listing`` and ``urls`` (the verbs,
as mixins of ``DiskCore``). ``FilesystemAdapter`` itself adds what needs the
whole disk: the bridges (fsspec, async, batches, responses, uploads) and its
identity (recipe, pickling, equality).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from ..config import COMMON_OPTIONS
from ._verbs import _A_DIRECTORY as _A_DIRECTORY
from ._verbs import _NO_FILE as _NO_FILE
from ._verbs import _PRECISE_ERRORS as _PRECISE_ERRORS
from ._verbs import _READING_ERRORS as _READING_ERRORS
from ._verbs import _as_verb_error as _as_verb_error
from ._verbs import _names_the_disk as _names_the_disk
from ._verbs import _raise_as as _raise_as
from ._verbs import _user_path as _user_path
from ._verbs import _verb as _verb
from .core import EVENTS, DiskCore
from .core import VISIBILITIES as VISIBILITIES
from .core import Contents as Contents
from .core import DiskOwner as DiskOwner
from .core import Entries as Entries
from .core import Expiry as Expiry
from .core import Paths as Paths
from .listing import ListingVerbs
from .managing import ManagingVerbs
from .reading import ReadingVerbs
from .reading import _guess_mimetype as _guess_mimetype
from .urls import UrlVerbs
from .writing import WritingVerbs
from .writing import _checked_binary as _checked_binary

if TYPE_CHECKING:
    from ..aio.disk import AsyncDisk
    from ..batch import BatchResult
    from ..fs.filesystem import DiskFileSystem

__all__ = ["Disk", "FilesystemAdapter", "EVENTS", "COMMON_OPTIONS"]


class FilesystemAdapter(WritingVerbs, ManagingVerbs, ReadingVerbs, ListingVerbs, UrlVerbs):
    """A disk: every storage verb, for one configured place.

    Args:
        backend: the primitive layer doing the I/O.
        name: the disk's configured name (used in errors, events and signed URLs).
        config: the disk's options (``url``, ``visibility``, ``signing_key``,
            ``serve_prefix``, driver options).
        manager: the manager the disk belongs to (for the app key).
    """

    def download_response(
        self, path: str, name: str | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        """A Starlette/FastAPI streaming response for the file, with HTTP Range support.

        Raises:
            FileNotFound: nothing, or a directory, is at ``path``.
            DriverNotInstalled: Starlette is missing (``pip install "flystore[fastapi]"``).
        """
        from ..responses import disk_file_response

        return disk_file_response(self, path, name=name, headers=headers)

    async def put_upload(self, file: Any, folder: str, name: str | None = None, **options: Any) -> str:
        """Validate an upload (flystore.uploads rules; ``options`` as ``UploadConfig``) and store it.

        Raises:
            UploadRejected: a rule was broken (``reason`` says which); nothing was stored.
            UnableToWriteFile: the disk failed; nothing was stored.
        """
        from ..uploads import put_upload

        return await put_upload(self, file, folder, name, **options)

    @property
    def fs(self) -> DiskFileSystem:
        """This disk as an fsspec filesystem (for pandas, pyarrow, dask ...), decorators included."""
        if self._fs is None:
            from ..fs.filesystem import DiskFileSystem

            self._fs = DiskFileSystem(disk=self)
        return self._fs

    # -- travelling as configuration (pickling, dask; flystore/fs/hooks.py) ----------

    def recipe(self) -> dict[str, Any] | None:
        """The configuration this disk was built from (as given, ``env()`` unresolved), or None.

        ``{"name": ..., "disks": {name: options, ...}}`` holds this disk and every disk it wraps;
        a disk not built by a manager (a fake, a hand-built one) has none.
        """
        recipe = self.__dict__.get("_recipe")
        return cast("dict[str, Any] | None", recipe)

    def __reduce__(self) -> tuple[Any, ...]:
        from ..fs.hooks import reduce_disk

        return reduce_disk(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FilesystemAdapter):
            return NotImplemented
        mine, theirs = self.recipe(), other.recipe()
        if mine is None or theirs is None:
            return self is other
        return mine == theirs

    def __hash__(self) -> int:
        recipe = self.recipe()
        if recipe is None:
            return id(self)
        from ..fs.hooks import recipe_token

        return int(recipe_token(recipe), 16)

    @property
    def aio(self) -> AsyncDisk:
        """This disk's async twin (``await disk.aio.get(path)``): the same verbs as coroutines."""
        twin = self.__dict__.get("_aio")
        if twin is None:
            from ..aio.disk import AsyncDisk

            twin = self.__dict__.setdefault("_aio", AsyncDisk(self))
        return cast("AsyncDisk", twin)

    # -- batches (flystore.batch): per-item results, bounded concurrency ----------------

    def put_many(self, items: Mapping[str, Contents], **options: Any) -> BatchResult[str, str]:
        """``put`` every ``{path: data}`` item (``max_concurrency=``, ``progress=``); see flystore.batch."""
        from .. import batch

        return batch.put_many(self, items, **options)

    def get_many(self, paths: Iterable[str], **options: Any) -> BatchResult[str, bytes]:
        """``get`` every path; failed items hold their error (``BatchResult``)."""
        from .. import batch

        return batch.get_many(self, paths, **options)

    def delete_many(self, paths: Iterable[str], **options: Any) -> BatchResult[str, bool]:
        """Delete every path (S3: DeleteObjects of up to 1,000 keys per request)."""
        from .. import batch

        return batch.delete_many(self, paths, **options)

    def copy_many(self, pairs: Mapping[str, str], **options: Any) -> BatchResult[str, str]:
        """``copy`` every ``{source: destination}`` pair."""
        from .. import batch

        return batch.copy_many(self, pairs, **options)

    def exists_many(self, paths: Iterable[str], **options: Any) -> BatchResult[str, bool]:
        """``exists`` for every path."""
        from .. import batch

        return batch.exists_many(self, paths, **options)

    def close(self) -> None:
        """Release the backend's connections."""
        self._backend.close()

    def __enter__(self) -> FilesystemAdapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()



Disk = FilesystemAdapter

# The Disk verbs, for the facade's forwarding and the async twin's parity test,
# in the order the parts document them (a mixin's own names are in its vars(), not the composed class's).
_PARTS = (DiskCore, WritingVerbs, ManagingVerbs, ReadingVerbs, ListingVerbs, UrlVerbs, FilesystemAdapter)
DISK_METHODS = tuple(
    dict.fromkeys(
        name
        for part in _PARTS
        for name, member in vars(part).items()
        if not name.startswith("_") and (callable(member) or isinstance(member, property))
        and name not in {"backend", "serve_prefix"}
    )
)
