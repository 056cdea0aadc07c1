"""How many backend calls ``disk.fs`` makes: the round trips that made it slow on servers stay gone.

Each test counts the primitives a real backend receives (by wrapping that backend
object's own methods) and asserts the fewest the operation needs, and that what it
skips (an ACL request, extended attributes) is really not asked for.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager
from flystore.backend import Backend
from flystore.errors import PathTraversalDetected
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket

PRIMITIVES = ("file_exists", "directory_exists", "read", "open_read", "stat", "quick_stat", "list_contents",
              "list_paths", "write", "write_stream", "write_new", "delete", "create_directory",
              "delete_directory", "copy", "move")


def counting(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """Count every primitive ``backend`` receives from now on (list_paths' own list_contents excluded)."""
    calls: collections.Counter[str] = collections.Counter()
    inside: list[str] = []
    for name in PRIMITIVES:
        original: Callable[..., Any] = getattr(backend, name)

        def counted(*args: Any, _original: Callable[..., Any] = original, _name: str = name, **kwargs: Any) -> Any:
            if not inside:
                calls[_name] += 1
            inside.append(_name)
            try:
                result = _original(*args, **kwargs)
                return list(result) if _name in ("list_contents", "list_paths") else result
            finally:
                inside.pop()

        monkeypatch.setattr(backend, name, counted)
    return calls


@pytest.fixture
def memory() -> Iterator[FilesystemAdapter]:
    disk = StorageManager({"disks": {"m": {"driver": "memory"}}}).disk("m")
    for name in ("d/a.txt", "d/b.txt", "d/sub/c.txt"):
        disk.put(name, b"x")
    yield disk
    disk.close()


def test_ls_of_a_directory_is_one_listing(memory: FilesystemAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(memory.backend, monkeypatch)
    assert memory.fs.ls("d", detail=False) == ["d/a.txt", "d/b.txt", "d/sub"]
    assert calls == {"list_contents": 1}


def test_find_of_a_directory_is_one_listing_of_names(memory: FilesystemAdapter,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(memory.backend, monkeypatch)
    assert memory.fs.find("d") == ["d/a.txt", "d/b.txt", "d/sub/c.txt"]
    assert calls == {"list_paths": 1}


def test_ls_and_find_of_a_file_or_nothing_still_answer_as_fsspec(memory: FilesystemAdapter) -> None:
    assert memory.fs.ls("d/a.txt", detail=False) == ["d/a.txt"]
    assert memory.fs.find("d/a.txt") == ["d/a.txt"]
    assert memory.fs.find("nothing") == []
    with pytest.raises(FileNotFoundError):
        memory.fs.ls("nothing")
    memory.make_directory("empty")
    assert memory.fs.ls("empty") == [] and memory.fs.find("empty", withdirs=True) == ["empty"]


def test_rm_recursive_and_cp_file_act_first(memory: FilesystemAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(memory.backend, monkeypatch)
    memory.fs.cp_file("d/a.txt", "e/a.txt")
    assert calls == {"copy": 1}
    calls.clear()
    memory.fs.rm("d", recursive=True)
    assert calls == {"delete_directory": 1}
    calls.clear()
    memory.fs.rm("e/a.txt")
    assert calls == {"delete": 1}
    assert memory.all_files() == []


def test_writing_into_an_existing_directory_checks_one_parent(memory: FilesystemAdapter,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(memory.backend, monkeypatch)
    with memory.fs.open("d/sub/new.txt", "wb") as handle:
        handle.write(b"new")
    assert calls == {"directory_exists": 2, "write_stream": 1}  # the target itself, then its parent
    memory.put("f", b"a file")
    with pytest.raises(NotADirectoryError):
        memory.fs.open("f/g/h.txt", "wb")  # no directory above: every ancestor is still checked


def test_info_through_a_decorator_keeps_its_attributes() -> None:
    disk = StorageManager({"disks": {"m": {"driver": "memory"},
                                     "e": {"driver": "encrypted", "disk": "m", "key": bytes(range(32))}}}).disk("e")
    disk.put("secret.txt", b"12345")
    assert disk.fs.info("secret.txt")["size"] == 5  # the plaintext's, not the ciphertext's
    with disk.fs.open("secret.txt", "rb") as handle:
        assert handle.size == 5


def test_local_info_reads_no_extended_attributes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = StorageManager({"disks": {"l": {"driver": "local", "root": str(tmp_path)}}}).disk("l")
    disk.put("a/b.csv", b"1,2", metadata={"owner": "ada"})
    import flystore.drivers.local.backend as local_backend

    reads: list[Any] = []
    original = local_backend.read_xattrs
    monkeypatch.setattr(local_backend, "read_xattrs", lambda target: reads.append(target) or original(target))
    info = disk.fs.info("a/b.csv")
    assert (info["size"], info["type"], reads) == (3, "file", [])
    assert disk.metadata("a/b.csv")["metadata"] == {"owner": "ada"} and len(reads) == 1  # stat still reads them


class TestS3Calls:
    @pytest.fixture(scope="class")
    @classmethod
    def s3(cls, s3_endpoint: str) -> Iterator[FilesystemAdapter]:
        bucket = f"calls-{uuid.uuid4().hex[:12]}"
        manager = StorageManager({"disks": {"s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint,
                                                   "create_bucket": True, **CREDENTIALS}}})
        disk = manager.disk("s3")
        disk.put("t/one.txt", b"1", visibility="public")
        yield disk
        manager.configure({"disks": {}})
        remove_bucket(raw_client(s3_endpoint), bucket)

    def test_info_is_one_head_without_an_acl_request(self, s3: FilesystemAdapter,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
        acl_requests: list[str] = []
        original = s3.backend.visibility  # type: ignore[attr-defined]  # the S3 backend's GetObjectAcl
        monkeypatch.setattr(s3.backend, "visibility", lambda path: acl_requests.append(path) or original(path))
        calls = counting(s3.backend, monkeypatch)
        info = s3.fs.info("t/one.txt")
        assert (info["size"], info["type"], acl_requests) == (1, "file", [])
        assert calls == {"quick_stat": 1}
        assert s3.get_visibility("t/one.txt") == "public" and acl_requests == ["t/one.txt"]  # stat still asks

    def test_info_through_scoped_is_still_one_head_without_an_acl_request(
        self, s3: FilesystemAdapter, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        acl_requests: list[str] = []
        original = s3.backend.visibility  # type: ignore[attr-defined]
        monkeypatch.setattr(s3.backend, "visibility", lambda path: acl_requests.append(path) or original(path))
        from flystore.decorators.prefixed import PrefixedBackend

        scoped = FilesystemAdapter(PrefixedBackend(s3.backend, "t"), name="scoped")  # the same S3 backend, scoped
        info = scoped.fs.info("one.txt")
        assert (info["name"], info["size"], acl_requests) == ("one.txt", 1, [])

    def test_find_of_a_prefix_is_one_listing(self, s3: FilesystemAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
        calls = counting(s3.backend, monkeypatch)
        assert s3.fs.find("t") == ["t/one.txt"]
        assert calls == {"list_paths": 1}


@pytest.mark.parametrize("form", ["link-dir/secret.txt", "sub/link-dir/secret.txt", "file-link",
                                  "../outside/secret.txt", "sub/../../outside/secret.txt"])
def test_the_cheaper_local_info_still_refuses_links_and_traversal(tmp_path: Path, form: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"s" * 4321)
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "link-dir").symlink_to(outside)
    (root / "sub" / "link-dir").symlink_to(outside)
    (root / "file-link").symlink_to(outside / "secret.txt")
    disk = StorageManager({"disks": {"jail": {"driver": "local", "root": str(root)}}}).disk("jail")
    with pytest.raises(PathTraversalDetected) as caught:
        leaked = disk.fs.info(form)
        pytest.fail(f"info({form!r}) answered {leaked!r}")
    assert "4321" not in str(caught.value)
    with pytest.raises(PathTraversalDetected):
        disk.fs.open(form, "rb")
