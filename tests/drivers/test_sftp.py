"""The sftp driver against real asyncssh SFTP servers on loopback (no mocks).

The shared ``sftp_server`` fixture (password login, chrooted) runs the contract;
a second server started here accepts key logins only, so private keys,
passphrases and host key verification are tested against a key we know.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.errors import (
    DriverNotInstalled,
    FileNotFound,
    InvalidConfiguration,
    StorageError,
    UnableToWriteFile,
    UnsupportedOperation,
)
from flystore.testing import DiskContract
from tests.drivers import remote_fixtures as remote
from tests.services import require_module

TEMP_PREFIX = remote.TEMP_PREFIX
temp_files = remote.temp_files


def build(server: dict[str, Any], root: str, **extra: Any) -> FilesystemAdapter:
    return remote.build("sftp", server, root, **extra)


@pytest.fixture
def root_name(sftp_server: dict[str, Any]) -> Iterator[str]:
    """A unique directory under the server root, removed after the test."""
    yield from remote.unique_root(sftp_server)


@pytest.fixture
def sftp_disk(sftp_server: dict[str, Any], root_name: str) -> Iterator[FilesystemAdapter]:
    disk = build(sftp_server, f"/{root_name}")
    yield disk
    disk.close()


def real(sftp_server: dict[str, Any], root_name: str, *parts: str) -> str:
    return os.path.join(sftp_server["root"], root_name, *parts)


def mode_of(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class TestSftpContract(DiskContract):
    # Each step is several SFTP round trips to an in-process asyncssh server (~0.2 s): 6 x 12 keeps the
    # model check to ~15 s of the suite's budget.
    stateful_examples = 6
    stateful_steps = 12

    @pytest.fixture
    def disk(self, sftp_disk: FilesystemAdapter) -> Iterator[FilesystemAdapter]:
        yield sftp_disk


class _Boom(Exception):
    pass


# -- visibility is the file mode on the server -----------------------------------------------------


def test_visibility_sets_real_modes_on_the_server(
    sftp_disk: FilesystemAdapter, sftp_server: dict[str, Any], root_name: str
) -> None:
    sftp_disk.put("secret.txt", "s", visibility="private")
    assert mode_of(real(sftp_server, root_name, "secret.txt")) == 0o600
    assert sftp_disk.get_visibility("secret.txt") == "private"
    sftp_disk.set_visibility("secret.txt", "public")
    assert mode_of(real(sftp_server, root_name, "secret.txt")) == 0o644
    assert sftp_disk.get_visibility("secret.txt") == "public"
    assert sftp_disk.metadata("secret.txt")["visibility"] == "public"

    os.chmod(real(sftp_server, root_name, "secret.txt"), 0o640)  # changed behind the disk's back
    assert sftp_disk.get_visibility("secret.txt") == "private"  # nobody else can read it
    os.chmod(real(sftp_server, root_name, "secret.txt"), 0o604)
    assert sftp_disk.get_visibility("secret.txt") == "public"


def test_copy_keeps_the_mode_unless_told_and_move_keeps_it(
    sftp_disk: FilesystemAdapter, sftp_server: dict[str, Any], root_name: str
) -> None:
    sftp_disk.put("orig.txt", "o", visibility="private")
    sftp_disk.copy("orig.txt", "copies/same.txt")
    assert mode_of(real(sftp_server, root_name, "copies", "same.txt")) == 0o600
    sftp_disk.copy("orig.txt", "copies/public.txt", visibility="public")
    assert mode_of(real(sftp_server, root_name, "copies", "public.txt")) == 0o644
    sftp_disk.move("orig.txt", "moved/orig.txt")
    assert mode_of(real(sftp_server, root_name, "moved", "orig.txt")) == 0o600
    sftp_disk.move("moved/orig.txt", "moved/now-public.txt", visibility="public")
    assert mode_of(real(sftp_server, root_name, "moved", "now-public.txt")) == 0o644
    assert sftp_disk.get("moved/now-public.txt") == b"o"


def test_directories_get_directory_modes(
    sftp_disk: FilesystemAdapter, sftp_server: dict[str, Any], root_name: str
) -> None:
    sftp_disk.make_directory("private-dir", visibility="private")
    assert mode_of(real(sftp_server, root_name, "private-dir")) == 0o700
    sftp_disk.set_visibility("private-dir", "public")
    assert mode_of(real(sftp_server, root_name, "private-dir")) == 0o755


def test_the_default_visibility_and_custom_permissions_apply(
    sftp_server: dict[str, Any], root_name: str
) -> None:
    disk = build(
        sftp_server, f"/{root_name}", visibility="private",
        permissions={"file": {"private": 0o640, "public": 0o664}},
    )
    try:
        disk.put("default.txt", "d")
        assert mode_of(real(sftp_server, root_name, "default.txt")) == 0o640
        assert disk.get_visibility("default.txt") == "private"
        disk.put("open.txt", "o", visibility="public")
        assert mode_of(real(sftp_server, root_name, "open.txt")) == 0o664
        assert disk.get_visibility("open.txt") == "public"
    finally:
        disk.close()


def test_metadata_and_mime_types_are_unsupported(sftp_disk: FilesystemAdapter) -> None:
    assert sftp_disk.backend.unsupported == frozenset({"metadata", "mimetype"})
    with pytest.raises(UnsupportedOperation):
        sftp_disk.put("m.txt", "x", metadata={"owner": "ada"})
    assert sftp_disk.file_missing("m.txt")


# -- atomic writes ------------------------------------------------------------------------------


def test_a_failing_stream_leaves_no_temporary_file_on_the_server(
    sftp_disk: FilesystemAdapter, sftp_server: dict[str, Any], root_name: str
) -> None:
    sftp_disk.put("dir/kept.bin", b"old", visibility="private")

    def broken() -> Iterator[bytes]:
        yield b"x" * 3_000_000
        raise _Boom("the source died")

    for target in ("dir/new.bin", "dir/kept.bin"):
        with pytest.raises((_Boom, StorageError)):
            sftp_disk.put(target, broken())
    assert temp_files(real(sftp_server, root_name)) == []
    assert sorted(os.listdir(real(sftp_server, root_name, "dir"))) == ["kept.bin"]
    assert sftp_disk.get("dir/kept.bin") == b"old"
    assert mode_of(real(sftp_server, root_name, "dir", "kept.bin")) == 0o600


def test_an_upload_in_flight_is_invisible(
    sftp_disk: FilesystemAdapter, sftp_server: dict[str, Any], root_name: str
) -> None:
    seen: dict[str, Any] = {}

    def chunks() -> Iterator[bytes]:
        yield b"a" * 2_000_000
        seen["temp"] = temp_files(real(sftp_server, root_name))
        seen["listing"] = sftp_disk.all_files()
        seen["exists"] = sftp_disk.file_exists("flight.bin")
        yield b"b" * 1_000_000

    sftp_disk.put("flight.bin", chunks())
    assert len(seen["temp"]) == 1
    assert seen["listing"] == [] and seen["exists"] is False
    assert sftp_disk.size("flight.bin") == 3_000_000
    assert temp_files(real(sftp_server, root_name)) == []


# -- streaming ----------------------------------------------------------------------------------


def test_copy_streams_on_an_sftp_only_server(sftp_disk: FilesystemAdapter) -> None:
    # The fixture server has no shell: sshfs's own copy (``cp`` over exec) would fail here.
    data = os.urandom(3_000_000)
    sftp_disk.put("src/data.bin", data)
    sftp_disk.copy("src/data.bin", "dst/deeper/data.bin")
    assert sftp_disk.get("dst/deeper/data.bin") == data
    with pytest.raises(FileNotFound):
        sftp_disk.copy("src/absent.bin", "dst/absent.bin")


def test_ranged_reads_seek_instead_of_downloading_everything(sftp_disk: FilesystemAdapter) -> None:
    data = bytes(range(256)) * 8000
    sftp_disk.put("ranges.bin", data)
    with sftp_disk.open("ranges.bin", "rb") as handle:
        assert handle.read(4) == data[:4]
        handle.seek(1_000_000)
        assert handle.read(16) == data[1_000_000:1_000_016]
        handle.seek(-5, os.SEEK_END)
        assert handle.read() == data[-5:]


def test_symlinks_on_the_server_are_listed_as_what_they_point_to(
    sftp_disk: FilesystemAdapter, sftp_server: dict[str, Any], root_name: str
) -> None:
    sftp_disk.put("target/file.txt", "t")
    base = real(sftp_server, root_name)
    os.symlink("target/file.txt", os.path.join(base, "file-link.txt"))
    os.symlink("target", os.path.join(base, "dir-link"))
    os.symlink("nowhere", os.path.join(base, "dangling"))
    assert sftp_disk.files() == ["file-link.txt"]
    assert sftp_disk.directories() == ["dir-link", "target"]


def test_a_relative_root_is_under_the_login_directory(sftp_server: dict[str, Any], root_name: str) -> None:
    disk = build(sftp_server, f"{root_name}/rel")  # the chrooted login directory is the server root
    try:
        disk.put("x.txt", "relative")
        with open(real(sftp_server, root_name, "rel", "x.txt"), "rb") as handle:
            assert handle.read() == b"relative"
        assert disk.files() == ["x.txt"]
    finally:
        disk.close()


# -- connections and errors ---------------------------------------------------------------------


def test_a_wrong_password_is_a_flystore_error_naming_the_disk(
    sftp_server: dict[str, Any], root_name: str
) -> None:
    disk = build(sftp_server, root_name, password="wrong")
    try:
        with pytest.raises(UnableToWriteFile) as caught:
            disk.put("x.txt", "x")
        error = caught.value
        assert error.disk == "sftp" and error.path == "x.txt"
        assert "sftp" in str(error) and "Permission denied" in str(error)
        chain = []
        cause: BaseException | None = error
        while cause is not None:
            chain.append(type(cause).__module__)
            cause = cause.__cause__
        assert any(module.startswith("asyncssh") for module in chain)
        with pytest.raises(StorageError) as listing:
            disk.files()
        assert listing.value.disk == "sftp"
    finally:
        disk.close()


def test_closing_closes_the_ssh_connection(sftp_server: dict[str, Any], root_name: str) -> None:
    disk = build(sftp_server, f"/{root_name}")
    disk.put("a.txt", "a")
    disk.copy("a.txt", "b.txt")  # opens flystore's own SFTP channel as well
    connection = disk.backend.fs.client  # type: ignore[attr-defined]
    disk.close()
    assert connection.is_closed()
    disk.close()  # twice is fine
    gc.collect()
    assert disk.get("b.txt") == b"a"  # a closed disk reconnects on demand
    disk.close()


def test_the_driver_needs_sshfs(monkeypatch: pytest.MonkeyPatch, sftp_server: dict[str, Any]) -> None:
    monkeypatch.setitem(sys.modules, "sshfs", None)
    with pytest.raises(DriverNotInstalled) as caught:
        build(sftp_server, "anywhere")
    assert 'pip install "flystore[sftp]"' in str(caught.value) and caught.value.disk == "sftp"


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"hostname": "x"}, "hostname"),
        ({"host": None}, "host"),
        ({"port": "22"}, "port"),
        ({"timeout": -1}, "timeout"),
        ({"private_key": "/nonexistent/key"}, "private_key"),
        ({"known_hosts": 5}, "known_hosts"),
        ({"host_key_check": "no"}, "host_key_check"),
        ({"permissions": {"file": {"public": "rw"}}}, "permissions"),
    ],
)
def test_bad_options_are_refused_by_name(options: dict[str, Any], option: str) -> None:
    config = {"driver": "sftp", "host": "127.0.0.1", **options}
    with pytest.raises(InvalidConfiguration) as caught:
        StorageManager({"disks": {"bad": config}}).disk("bad")
    assert caught.value.option == option and caught.value.disk == "bad"


# -- key logins and host keys, on a server of our own -------------------------------------------


@pytest.fixture(scope="module")
def key_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An asyncssh SFTP server that accepts one client key (no passwords), chrooted to a temp dir."""
    asyncssh = require_module("asyncssh")
    base = tmp_path_factory.mktemp("sftp-keys")
    (base / "data").mkdir()
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key.write_private_key(str(base / "id_plain"))
    client_key.write_private_key(str(base / "id_locked"), passphrase="open sesame", rounds=50)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    other_key = asyncssh.generate_private_key("ssh-ed25519")
    authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {"connections": set()}

    class Server(asyncssh.SSHServer):  # type: ignore[misc,name-defined]  # asyncssh is imported inside the fixture
        def connection_made(self, conn: Any) -> None:
            self._conn = conn
            state["connections"].add(conn)

        def connection_lost(self, exc: Exception | None) -> None:
            state["connections"].discard(getattr(self, "_conn", None))

    async def listen() -> None:
        state["acceptor"] = await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[host_key], authorized_client_keys=authorized,
            server_factory=Server, allow_scp=False,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(base / "data").encode()),
        )

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(listen())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(15)
    port = state["acceptor"].sockets[0].getsockname()[1]
    public = host_key.export_public_key().decode().strip()
    (base / "known_hosts").write_text(f"[127.0.0.1]:{port} {public}\n")
    (base / "wrong_known_hosts").write_text(
        f"[127.0.0.1]:{port} {other_key.export_public_key().decode().strip()}\n"
    )
    try:
        yield {
            "host": "127.0.0.1", "port": port, "username": "deploy", "root": str(base / "data"),
            "key": str(base / "id_plain"), "locked_key": str(base / "id_locked"),
            "known_hosts": str(base / "known_hosts"), "wrong_known_hosts": str(base / "wrong_known_hosts"),
            "state": state, "loop": loop,
        }
    finally:
        async def close() -> None:
            state["acceptor"].close()
            await state["acceptor"].wait_closed()
            for conn in list(state["connections"]):
                conn.close()
                with contextlib.suppress(Exception):
                    await conn.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def key_disk(key_server: dict[str, Any], **options: Any) -> FilesystemAdapter:
    config = {"driver": "sftp", "host": key_server["host"], "port": key_server["port"],
              "username": key_server["username"], "root": "/", "timeout": 10, **options}
    return StorageManager({"disks": {"keys": config}}).disk("keys")


def test_a_private_key_logs_in_and_known_hosts_verify_the_server(key_server: dict[str, Any]) -> None:
    disk = key_disk(key_server, private_key=key_server["key"], known_hosts=key_server["known_hosts"])
    try:
        disk.put("by-key.txt", "signed in with a key")
        with open(os.path.join(key_server["root"], "by-key.txt"), "rb") as handle:
            assert handle.read() == b"signed in with a key"
    finally:
        disk.close()


def test_a_passphrase_unlocks_an_encrypted_key(key_server: dict[str, Any]) -> None:
    disk = key_disk(key_server, private_key=key_server["locked_key"], passphrase="open sesame", known_hosts=None)
    try:
        disk.put("locked.txt", "ok")
        assert disk.get("locked.txt") == b"ok"
    finally:
        disk.close()
    wrong = key_disk(key_server, private_key=key_server["locked_key"], passphrase="nope", known_hosts=None)
    try:
        with pytest.raises(StorageError) as caught:
            wrong.files()
        assert caught.value.disk == "keys"
    finally:
        wrong.close()


def test_host_keys_are_verified_by_default(
    key_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # an empty ~/.ssh: the server is unknown
    disk = key_disk(key_server, private_key=key_server["key"])
    try:
        with pytest.raises(StorageError) as caught:
            disk.put("never.txt", "x")
        assert caught.value.disk == "keys" and "known_hosts" in str(caught.value)
    finally:
        disk.close()
    assert not os.path.exists(os.path.join(key_server["root"], "never.txt"))

    # Known in ~/.ssh/known_hosts: accepted without any option.
    (tmp_path / ".ssh").mkdir()
    shutil.copy(key_server["known_hosts"], tmp_path / ".ssh" / "known_hosts")
    trusted = key_disk(key_server, private_key=key_server["key"])
    try:
        assert trusted.exists("")
        assert isinstance(trusted.files(), list)
    finally:
        trusted.close()


def test_a_changed_host_key_is_refused(key_server: dict[str, Any]) -> None:
    disk = key_disk(key_server, private_key=key_server["key"], known_hosts=key_server["wrong_known_hosts"])
    try:
        with pytest.raises(StorageError) as caught:
            disk.files()
        assert caught.value.disk == "keys"
    finally:
        disk.close()
    unchecked = key_disk(key_server, private_key=key_server["key"], host_key_check=False)
    try:
        assert isinstance(unchecked.files(), list)
    finally:
        unchecked.close()


def test_closing_leaves_no_connection_open_on_the_server(key_server: dict[str, Any]) -> None:
    # Compare by identity: an earlier test's connection may still be closing on the server.
    before = set(key_server["state"]["connections"])
    disk = key_disk(key_server, private_key=key_server["key"], known_hosts=None)
    disk.put("c.txt", "c")
    disk.copy("c.txt", "d.txt")
    opened = set(key_server["state"]["connections"]) - before
    assert len(opened) == 1, "one SSH connection serves the disk"
    disk.close()
    deadline = time.monotonic() + 5
    while opened & set(key_server["state"]["connections"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not opened & set(key_server["state"]["connections"])


def test_the_disk_can_be_used_from_several_threads(sftp_disk: FilesystemAdapter) -> None:
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for round_ in range(3):
                path = f"threads/{index}/{round_}.txt"
                sftp_disk.put(path, f"{index}-{round_}", visibility="private" if round_ % 2 else "public")
                assert sftp_disk.get(path) == f"{index}-{round_}".encode()
                sftp_disk.copy(path, f"{path}.copy")
                assert path in sftp_disk.files(f"threads/{index}")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(sftp_disk.all_files("threads")) == 36


def test_a_connection_the_server_dropped_is_replaced(key_server: dict[str, Any]) -> None:
    disk = key_disk(key_server, private_key=key_server["key"], known_hosts=None)
    try:
        disk.put("kept.txt", "kept")
        first = disk.backend.fs.client  # type: ignore[attr-defined]
        before = set(key_server["state"]["connections"])

        async def hang_up() -> None:
            for conn in before:
                conn.close()
                await conn.wait_closed()

        asyncio.run_coroutine_threadsafe(hang_up(), key_server["loop"]).result(10)
        deadline = time.monotonic() + 5
        while not first.is_closed() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert first.is_closed()
        assert disk.get("kept.txt") == b"kept"  # the next operation connects again
        assert disk.backend.fs.client is not first  # type: ignore[attr-defined]
    finally:
        disk.close()
