"""The ``failover`` decorator disk: failover across disks, optional replication, repair."""

from .adapter import FailoverFilesystemAdapter, MultiBackendStorage, create
from .backend import FailoverBackend
from .breaker import CircuitBreaker
from .classify import is_outage
from .repair import RepairReport

__all__ = [
    "CircuitBreaker",
    "FailoverBackend",
    "FailoverFilesystemAdapter",
    "MultiBackendStorage",
    "RepairReport",
    "create",
    "is_outage",
]
