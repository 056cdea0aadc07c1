"""The ``failover`` disk, ``MultiBackendStorage`` (the seed's dict of named backends) and the config driver."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...disk import FilesystemAdapter
from ...errors import InvalidConfiguration
from ...paths import normalize
from ..read_only import inherited_config
from .backend import FailoverBackend
from .breaker import State
from .repair import RepairReport, repair

if TYPE_CHECKING:
    from ...manager import StorageManager

__all__ = ["FailoverFilesystemAdapter", "MultiBackendStorage", "create"]

#: Options of the failover disk itself.
OWN_OPTIONS = frozenset({"disks", "replicate", "write_quorum", "read_any", "failure_threshold", "cooldown"})
#: Disk options a failover disk may carry for itself.
DISK_OPTIONS = frozenset({"visibility", "url", "signing_key", "serve_prefix"})
DEFAULT_THRESHOLD = 3
DEFAULT_COOLDOWN = 30.0


def _checked(
    name: str,
    count: int,
    replicate: Any,
    write_quorum: Any,
    read_any: Any,
    failure_threshold: Any,
    cooldown: Any,
) -> None:
    """Raises: InvalidConfiguration: the first bad option, named."""
    if count < 2:
        raise InvalidConfiguration("a failover disk needs at least two disks", option="disks", disk=name)
    for option, value in (("replicate", replicate), ("read_any", read_any)):
        if not isinstance(value, bool):
            raise InvalidConfiguration(f"must be true or false, not {value!r}", option=option, disk=name)
    if write_quorum is not None:
        if not replicate:
            raise InvalidConfiguration("needs 'replicate': true (without it a write goes to one disk)",
                                       option="write_quorum", disk=name)
        if isinstance(write_quorum, bool) or not isinstance(write_quorum, int) or not 1 <= write_quorum <= count:
            raise InvalidConfiguration(f"must be a whole number from 1 to {count}, not {write_quorum!r}",
                                       option="write_quorum", disk=name)
    if isinstance(failure_threshold, bool) or not isinstance(failure_threshold, int) or failure_threshold < 1:
        raise InvalidConfiguration(f"must be a whole number of at least 1, not {failure_threshold!r}",
                                   option="failure_threshold", disk=name)
    if isinstance(cooldown, bool) or not isinstance(cooldown, (int, float)) or cooldown < 0:
        raise InvalidConfiguration(f"must be a non-negative number of seconds, not {cooldown!r}",
                                   option="cooldown", disk=name)


class FailoverFilesystemAdapter(FilesystemAdapter):
    """A disk over several disks: reads fall back in order, writes go to the first healthy one
    (or, with ``replicate``, to all of them), a circuit breaker skips a failing disk for a cooldown.

    Args:
        disks: the disks, in order of preference (at least two, distinct names).
        replicate: write every change to every disk.
        write_quorum: with ``replicate``, how many disks must take a change (default: all).
        read_any: look for a file on the next disk when one disk says it is missing.
        failure_threshold: consecutive outages after which a disk is skipped.
        cooldown: seconds a skipped disk waits before one call probes it again.
        name: this disk's name.
        clock: the breakers' monotonic clock (tests pass their own).
        owned: names of the disks built for this disk only: closing it closes them.

    Raises:
        InvalidConfiguration: a bad option (named).
    """

    def __init__(
        self,
        disks: Sequence[FilesystemAdapter],
        *,
        replicate: bool = False,
        write_quorum: int | None = None,
        read_any: bool = False,
        failure_threshold: int = DEFAULT_THRESHOLD,
        cooldown: float = DEFAULT_COOLDOWN,
        name: str = "failover",
        manager: StorageManager | None = None,
        config: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        owned: Collection[str] = (),
    ) -> None:
        _checked(name, len(disks), replicate, write_quorum, read_any, failure_threshold, cooldown)
        names = [disk.name for disk in disks]
        duplicate = next((item for item in names if names.count(item) > 1), None)
        if duplicate is not None:
            raise InvalidConfiguration(f"disk {duplicate!r} is named twice", option="disks", disk=name)
        backend = FailoverBackend(
            [(disk.name, disk.backend) for disk in disks], replicate=replicate, write_quorum=write_quorum,
            read_any=read_any, failure_threshold=failure_threshold, cooldown=cooldown, clock=clock, owned=owned,
        )
        merged = {**inherited_config(disks[0].config), **dict(config or {})}
        super().__init__(backend, name=name, config=merged, manager=manager or disks[0].manager)
        self._failover = backend
        self.disks = list(disks)

    def repair(self, directory: str = "", *, verify: bool = False) -> RepairReport:
        """Make every reachable disk hold the same files under ``directory``, copying only what differs.

        Args:
            directory: where to repair (default: everything).
            verify: compare files without cheap checksums by hashing both copies (reads them).

        Raises:
            PathTraversalDetected: ``directory`` escapes the disk.
            UnableToListContents: no disk could be listed.
        """
        try:
            return repair(self._failover, normalize(directory), verify=verify)
        except Exception as error:
            if getattr(error, "disk", "") is None:
                error.disk = self.name  # type: ignore[attr-defined]
            raise

    def pending(self) -> dict[str, list[str]]:
        """The paths each disk missed, by disk name (``"dir/"``: a whole directory); empty when all agree."""
        return self._failover.pending()

    def health(self) -> dict[str, State]:
        """Each disk's circuit: ``"closed"``, ``"open"`` (skipped) or ``"half_open"`` (next call probes it)."""
        return self._failover.health()


class MultiBackendStorage(FailoverFilesystemAdapter):
    """The seed's multi-backend storage: a failover disk from a dict of named backends.

    ``MultiBackendStorage({"primary": {"backend": "s3", "bucket": ...}, "fallback": {"backend": "gcs", ...}})``:
    each value is a disk's options (``backend`` or ``driver`` names the driver) or a disk;
    the dict's order is the order of preference. The other arguments are the failover
    disk's options.

    Raises:
        InvalidConfiguration: a bad option (named), or a backend without a driver.
        DriverNotInstalled: a backend's extra is missing.
    """

    def __init__(
        self,
        config: Mapping[str, Mapping[str, Any] | FilesystemAdapter],
        *,
        replicate: bool = False,
        write_quorum: int | None = None,
        read_any: bool = False,
        failure_threshold: int = DEFAULT_THRESHOLD,
        cooldown: float = DEFAULT_COOLDOWN,
        name: str = "multi",
        manager: StorageManager | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(config, Mapping) or not config:
            raise InvalidConfiguration("give a dict of named backends, in order of preference", option="disks",
                                       disk=name)
        if manager is None:
            from ...fs import hooks

            manager = hooks.manager()
        disks: list[FilesystemAdapter] = []
        bodies: dict[str, dict[str, Any]] = {}
        for key, options in config.items():
            if isinstance(options, FilesystemAdapter):
                disks.append(options)
                continue
            if not isinstance(options, Mapping):
                raise InvalidConfiguration("a backend is a dict of options or a disk", option=str(key), disk=name)
            body = dict(options)
            driver = body.pop("backend", None) or body.get("driver")
            if not isinstance(driver, str) or not driver:
                raise InvalidConfiguration("needs 'backend' (or 'driver'): the driver's name", option=str(key),
                                           disk=name)
            body["driver"] = driver
            bodies[str(key)] = body
            disks.append(manager.build(body, name=str(key)))
        super().__init__(
            disks, replicate=replicate, write_quorum=write_quorum, read_any=read_any,
            failure_threshold=failure_threshold, cooldown=cooldown, name=name, manager=manager, clock=clock,
            owned=list(bodies),
        )
        if len(bodies) == len(config) and name not in bodies:
            # Built from configuration only, so it can travel as configuration (pickled disk.fs, dask workers).
            own: dict[str, Any] = {"driver": "failover", "disks": list(bodies), "replicate": replicate,
                                   "read_any": read_any, "failure_threshold": failure_threshold, "cooldown": cooldown}
            if write_quorum is not None:
                own["write_quorum"] = write_quorum
            self.__dict__["_recipe"] = {"name": name, "disks": {**bodies, name: own}}


def create(name: str, options: dict[str, Any], manager: Any) -> FailoverFilesystemAdapter:
    """``{"driver": "failover", "disks": ["primary", "fallback"], "replicate": true, "write_quorum": 1}``.

    An item of ``disks`` names another disk or holds its options.

    Raises:
        InvalidConfiguration: a bad or unknown option (named), or a disk that is not configured.
    """
    from ...config import reject_unknown_options

    reject_unknown_options(name, options, OWN_OPTIONS | DISK_OPTIONS)
    listed = options.get("disks")
    if not isinstance(listed, (list, tuple)) or not all(isinstance(item, (str, Mapping)) for item in listed):
        raise InvalidConfiguration("must be a list of disk names (or disk options), in order of preference",
                                   option="disks", disk=name)
    disks = [
        manager._resolve_inner(name, {"disk": item}) if isinstance(item, str)
        else manager._build(f"{name}.disks.{index}", item)
        for index, item in enumerate(listed)
    ]
    return FailoverFilesystemAdapter(
        disks,
        replicate=options.get("replicate", False),
        write_quorum=options.get("write_quorum"),
        read_any=options.get("read_any", False),
        failure_threshold=options.get("failure_threshold", DEFAULT_THRESHOLD),
        cooldown=options.get("cooldown", DEFAULT_COOLDOWN),
        name=name,
        manager=manager,
        config={key: value for key, value in options.items() if key in DISK_OPTIONS},
        owned=[disk.name for disk, item in zip(disks, listed, strict=True) if isinstance(item, Mapping)],
    )
