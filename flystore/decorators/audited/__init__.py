"""The ``audited`` decorator disk: every operation recorded in a trail, off the operation's path."""

from .actor import acting_as, current_actor
from .adapter import AuditedFilesystemAdapter, create
from .backend import AuditedBackend
from .record import AuditRecord
from .trail import TrailFilter, read_trail

__all__ = [
    "AuditRecord",
    "AuditedBackend",
    "AuditedFilesystemAdapter",
    "TrailFilter",
    "acting_as",
    "create",
    "current_actor",
    "read_trail",
]
