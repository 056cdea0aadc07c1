"""``GoogleCloudStorageAdapter``, the gcs disk, and ``create``, the driver's entry point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...disk import FilesystemAdapter
from .common import _FIXED_FIELDS, _snake
from .options import _build

_CONTENT_TYPE_KEYS = frozenset({"content_type", "mimetype", "mime_type"})


class GoogleCloudStorageAdapter(FilesystemAdapter):
    """A disk on a Google Cloud Storage bucket.

    Args:
        bucket: the bucket name (or give it in ``options``).
        name: the disk's name.
        manager: the manager this disk belongs to.
        **options: the gcs driver options (``project_id``, ``key_file``/``credentials_path``,
            ``token``, ``endpoint``, ``prefix``, ``create_bucket``,
            ``uniform_bucket_level_access``, ``timeout``, ``chunk_size``) and the
            common disk options (``url``, ``visibility``, ...).

    Raises:
        InvalidConfiguration: a missing bucket or a bad option.
        DriverNotInstalled: gcsfs is missing (``pip install "flystore[gcs]"``).
    """

    def __init__(self, bucket: str | None = None, *, name: str = "gcs", manager: Any = None, **options: Any) -> None:
        if bucket is not None:
            options["bucket"] = bucket
        backend, config = _build(name, options)
        super().__init__(backend, name=name, config=config, manager=manager)

    def put_with_metadata(self, path: str, data: Any, metadata: Mapping[str, Any]) -> str:
        """``put`` with GCS object metadata in one mapping; returns the path.

        ``content_type``/``Content-Type``, ``cache_control``/``Cache-Control``,
        ``content_disposition``, ``content_encoding``, ``content_language``,
        ``custom_time`` and ``visibility`` are GCS fields (any spelling:
        snake_case, camelCase or header form); every other key is custom
        metadata, returned by ``metadata(path)["metadata"]``.

        Raises:
            UnableToWriteFile: nothing was written.
        """
        mimetype: str | None = None
        visibility: str | None = None
        fixed: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for key, value in metadata.items():
            snake = _snake(str(key))
            if snake in _CONTENT_TYPE_KEYS:
                mimetype = None if value is None else str(value)
            elif snake == "visibility":
                visibility = None if value is None else str(value)
            elif snake in _FIXED_FIELDS:
                fixed[snake] = value
            else:
                custom[str(key)] = value
        return self.put(path, data, mimetype=mimetype, visibility=visibility, metadata=custom or None, **fixed)


def create(name: str, options: dict[str, Any], manager: Any) -> GoogleCloudStorageAdapter:
    """Build a gcs disk from its options (``bucket`` required)."""
    # The disk's name is the configured one, whatever a ``name`` option says.
    options = {key: value for key, value in options.items() if key != "name"}
    return GoogleCloudStorageAdapter(name=name, manager=manager, **options)
