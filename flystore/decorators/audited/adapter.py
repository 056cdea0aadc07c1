"""``AuditedFilesystemAdapter`` and the ``audited`` config driver."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...disk import FilesystemAdapter
from ...errors import InvalidConfiguration, StorageError
from ...paths import normalize
from ..read_only import inherited_config
from .backend import AuditedBackend
from .trail import TrailFilter, read_trail
from .writer import AuditWriter, DiskSink, LoggerSink, Sink

if TYPE_CHECKING:
    from ...manager import StorageManager

__all__ = ["AuditedFilesystemAdapter", "create"]

_OPTIONS = {"disk", "trail", "logger", "prefix", "max_queue", "flush_interval", "batch_size",
            "visibility", "signing_key", "serve_prefix", "url"}


class AuditedFilesystemAdapter(FilesystemAdapter):
    """A disk whose every operation is recorded in an audit trail (see docs/audit.md).

    Args:
        base_adapter: the disk whose operations are recorded.
        trail: a disk that receives the records as JSON-lines files under ``prefix``.
        logger: instead of ``trail``, a ``logging.Logger`` (or its name) receiving one INFO line per record.
        prefix: where the trail files go on ``trail``.
        max_queue: records that may wait for the writer; beyond it they are dropped and counted.
        flush_interval: seconds a record may wait before its batch is written.
        batch_size: records per batch at most.
        name: this disk's name (default: the base disk's); records name it.
        owns_base: close ``base_adapter``'s backend on ``close()`` (it was built for this disk alone).

    Raises:
        InvalidConfiguration: neither or both of ``trail`` and ``logger``, or a bad number.
    """

    def __init__(
        self,
        base_adapter: FilesystemAdapter,
        *,
        trail: FilesystemAdapter | None = None,
        logger: logging.Logger | str | None = None,
        prefix: str = "audit",
        max_queue: int = 10_000,
        flush_interval: float = 5.0,
        batch_size: int = 1_000,
        name: str | None = None,
        manager: StorageManager | None = None,
        config: Mapping[str, Any] | None = None,
        owns_base: bool = False,
    ) -> None:
        disk_name = name or base_adapter.name
        self.trail_prefix = _prefix(disk_name, prefix)
        self.trail_disk = trail
        sink = _sink(disk_name, trail, logger, self.trail_prefix)
        writer = AuditWriter(
            sink, disk=disk_name, max_queue=_positive(disk_name, "max_queue", max_queue, int),
            flush_interval=_positive(disk_name, "flush_interval", flush_interval, float),
            batch_size=_positive(disk_name, "batch_size", batch_size, int),
        )
        merged = inherited_config(base_adapter.config)
        merged.update(config or {})
        backend = AuditedBackend(base_adapter.backend, writer, disk_name, owns_inner=owns_base)
        super().__init__(backend, name=disk_name, config=merged, manager=manager or base_adapter.manager)
        self.audit_writer = writer

    def flush(self, timeout: float = 30.0) -> bool:
        """Write every record queued so far; False if that took longer than ``timeout`` seconds."""
        return self.audit_writer.flush(timeout)

    @property
    def dropped(self) -> int:
        """Records dropped because the queue was full (each loss is also noted in the trail)."""
        return self.audit_writer.dropped

    def trail(self, where: TrailFilter | None = None, **criteria: Any) -> Iterator[dict[str, Any]]:
        """The records of the trail disk, oldest first, after a ``flush()``.

        ``criteria`` are ``TrailFilter``'s (``actor=``, ``path=``, ``operations=``, ``since=``, ...).

        Raises:
            UnsupportedOperation: the records go to a logger, which cannot be read back.
            UnableToListContents: the trail disk could not be listed.
        """
        from ...errors import UnsupportedOperation

        if self.trail_disk is None:
            raise UnsupportedOperation("the audit records go to a logger; read them where the logger writes",
                                       disk=self.name)
        self.flush()
        return read_trail(self.trail_disk, self.trail_prefix, where or TrailFilter(**criteria))


def _prefix(disk: str, prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise InvalidConfiguration("'prefix' must be a path", option="prefix", disk=disk)
    try:
        return normalize(prefix)
    except StorageError as error:
        raise InvalidConfiguration(f"not a usable path: {error.reason}", option="prefix", disk=disk) from error


def _positive(disk: str, option: str, value: Any, kind: type[int] | type[float]) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or (
        kind is int and not isinstance(value, int)
    ):
        raise InvalidConfiguration(f"must be a positive {kind.__name__}, not {value!r}", option=option, disk=disk)
    return kind(value)


def _sink(disk: str, trail: FilesystemAdapter | None, logger: logging.Logger | str | None, prefix: str) -> Sink:
    if (trail is None) == (logger is None):
        raise InvalidConfiguration(
            "an audited disk needs exactly one of 'trail' (a disk for the records) or 'logger' (a logger name)",
            option="trail", disk=disk,
        )
    if trail is not None:
        return DiskSink(trail, prefix)
    if isinstance(logger, str):
        if not logger:
            raise InvalidConfiguration("'logger' must name a logger", option="logger", disk=disk)
        return LoggerSink(logging.getLogger(logger))
    if not isinstance(logger, logging.Logger):
        raise InvalidConfiguration("'logger' must be a logger name", option="logger", disk=disk)
    return LoggerSink(logger)


def create(name: str, options: dict[str, Any], manager: Any) -> Any:
    """``{"driver": "audited", "disk": "s3", "trail": "audit_disk"}`` or ``"logger": "app.audit"``."""
    from ...config import reject_unknown_options

    reject_unknown_options(name, options, _OPTIONS)
    trail_name = options.get("trail")
    if trail_name is not None and (not isinstance(trail_name, str) or not trail_name):
        raise InvalidConfiguration("'trail' must name a configured disk", option="trail", disk=name)
    if trail_name == name or (trail_name is not None and trail_name == options.get("disk")):
        raise InvalidConfiguration(
            "the trail must be another disk than the audited one and the disk it wraps "
            "(its records would be audited, or listed, with the files)", option="trail", disk=name,
        )
    inner = manager._resolve_inner(name, options)
    if trail_name is not None and trail_name not in manager.config["disks"]:
        raise InvalidConfiguration(f"names disk {trail_name!r}, which is not configured", option="trail", disk=name)
    trail = manager.disk(trail_name) if trail_name is not None else None
    own = {key: value for key, value in options.items() if key in ("visibility", "signing_key", "serve_prefix", "url")}
    return AuditedFilesystemAdapter(
        inner, trail=trail, logger=options.get("logger"), prefix=options.get("prefix", "audit"),
        max_queue=options.get("max_queue", 10_000), flush_interval=options.get("flush_interval", 5.0),
        batch_size=options.get("batch_size", 1_000), name=name, manager=manager, config=own,
        owns_base=not isinstance(options.get("disk"), str),  # a named disk is the manager's to close
    )
