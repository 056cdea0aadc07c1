"""The audited decorator: what every operation leaves in the trail, who it names, and what it never writes."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from flystore import Backend, Storage, StorageManager
from flystore.decorators.audited import AuditedFilesystemAdapter, TrailFilter, acting_as, current_actor, read_trail
from flystore.errors import FileNotFound, InvalidConfiguration, ReadOnlyDisk, UnableToWriteFile
from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket

TRAIL_FILE = re.compile(r"^audit/\d{4}/\d{2}/\d{2}/\d{2}-\d{4}-[0-9a-f]{12}\.jsonl$")


def audited(**options: Any) -> tuple[StorageManager, AuditedFilesystemAdapter]:
    manager = StorageManager({"disks": {
        "files": {"driver": "memory"},
        "trail": {"driver": "memory"},
        "docs": {"driver": "audited", "disk": "files", "trail": "trail", **options},
    }}, app_key="base64:" + "A" * 44)
    disk = manager.disk("docs")
    assert isinstance(disk, AuditedFilesystemAdapter)
    return manager, disk


@pytest.fixture
def docs() -> Iterator[AuditedFilesystemAdapter]:
    _, disk = audited()
    yield disk
    disk.close()


def records(disk: AuditedFilesystemAdapter, **criteria: Any) -> list[dict[str, Any]]:
    return list(disk.trail(**criteria))


# -- what a record holds ---------------------------------------------------------------------------


def test_every_operation_is_recorded_with_actor_size_outcome_and_duration(docs: AuditedFilesystemAdapter) -> None:
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    with Storage.acting_as("user-42"):
        docs.put("reports/q3.csv", "a,b\n1,2\n")
        assert docs.get("reports/q3.csv") == b"a,b\n1,2\n"
        assert docs.files("reports") == ["reports/q3.csv"]
        docs.copy("reports/q3.csv", "reports/q4.csv")
        docs.move("reports/q4.csv", "archive/q4.csv")
        docs.delete("reports/q3.csv")
        with pytest.raises(FileNotFound):
            docs.get("missing.txt")
    trail = records(docs)
    by_operation = {(record["operation"], record["path"]): record for record in trail}
    write = by_operation[("write", "reports/q3.csv")]
    assert write["actor"] == "user-42" and write["disk"] == "docs" and write["size"] == 8
    assert write["outcome"] == "ok" and write["duration_ms"] >= 0
    assert before <= datetime.fromisoformat(write["time"].replace("Z", "+00:00")) <= datetime.now(timezone.utc)
    assert by_operation[("read", "reports/q3.csv")]["size"] == 8
    assert by_operation[("list", "reports")]["size"] == 1  # listings are recorded, with how many entries
    assert by_operation[("copy", "reports/q3.csv")]["destination"] == "reports/q4.csv"
    assert by_operation[("move", "reports/q4.csv")]["destination"] == "archive/q4.csv"
    assert by_operation[("delete", "reports/q3.csv")]["outcome"] == "ok"
    assert by_operation[("read", "missing.txt")]["outcome"] == "FileNotFound"
    assert {record["actor"] for record in trail} == {"user-42"}
    assert [record["time"] for record in trail] == sorted(record["time"] for record in trail)


def test_streams_record_the_bytes_that_went_through_them(docs: AuditedFilesystemAdapter) -> None:
    docs.write_stream("big.bin", (bytes([n]) * 100_000 for n in range(7)))
    with docs.open("handle.bin", "wb") as handle:
        handle.write(b"x" * 1234)
    sizes = {record["path"]: record["size"] for record in records(docs, operations={"write"})}
    assert sizes == {"big.bin": 700_000, "handle.bin": 1234}
    with docs.read_stream("big.bin", chunk_size=65_536) as stream:
        assert sum(len(chunk) for chunk in stream) == 700_000
    with docs.open("big.bin") as handle:
        handle.seek(-100, 2)
        assert handle.read() == bytes([6]) * 100
    opened = [record for record in records(docs, operations={"open_read"}) if record["path"] == "big.bin"]
    assert [record["size"] for record in opened] == [700_000, 100]  # what was read, recorded on close
    assert all(record["outcome"] == "ok" for record in opened)


def test_native_writers_are_recorded_when_they_publish_or_abort(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {
        "local": {"driver": "local", "root": str(tmp_path / "files")},
        "trail": {"driver": "memory"},
        "a": {"driver": "audited", "disk": "local", "trail": "trail"},
    }})
    disk = manager.disk("a")
    assert isinstance(disk, AuditedFilesystemAdapter)
    with disk.open("kept.bin", "wb") as handle:  # the local disk's own atomic writer, not a spool
        handle.write(b"x" * 5000)
        handle.write(b"y" * 5)
    with pytest.raises(RuntimeError), disk.open("dropped.bin", "wb") as handle:
        handle.write(b"partial")
        raise RuntimeError("the caller gave up")
    assert manager.disk("local").all_files() == ["kept.bin"]
    outcomes = {record["path"]: (record["outcome"], record["size"]) for record in disk.trail(operations={"write"})}
    assert outcomes == {"kept.bin": ("ok", 5005), "dropped.bin": ("aborted", 7)}
    disk.close()


def test_a_failed_write_records_the_error_class() -> None:
    manager = StorageManager({"disks": {
        "frozen": {"driver": "memory", "read_only": True},
        "trail": {"driver": "memory"},
        "a": {"driver": "audited", "disk": "frozen", "trail": "trail"},
    }})
    disk = manager.disk("a")
    assert isinstance(disk, AuditedFilesystemAdapter)
    with pytest.raises(ReadOnlyDisk):
        disk.put("nope.txt", "x")
    (record,) = records(disk, operations={"write"})
    assert record["outcome"] == "ReadOnlyDisk" and record["size"] is None
    disk.close()


def test_no_actor_outside_acting_as_and_blocks_nest(docs: AuditedFilesystemAdapter) -> None:
    docs.put("anonymous.txt", "x")
    with acting_as("outer"):
        with acting_as("inner"):
            docs.put("inner.txt", "x")
            assert current_actor() == "inner"
        docs.put("outer.txt", "x")
    assert current_actor() is None
    actors = {record["path"]: record["actor"] for record in records(docs, operations={"write"})}
    assert actors == {"anonymous.txt": None, "inner.txt": "inner", "outer.txt": "outer"}
    with pytest.raises(ValueError):
        Storage.acting_as("")


def test_concurrent_threads_each_record_their_own_actor(docs: AuditedFilesystemAdapter) -> None:
    barrier = threading.Barrier(8)

    def work(user: int) -> None:
        with acting_as(f"user-{user}"):
            barrier.wait()
            for index in range(20):
                docs.put(f"u{user}/{index}.txt", b"x")
                docs.get(f"u{user}/{index}.txt")

    threads = [threading.Thread(target=work, args=(user,)) for user in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trail = records(docs, operations={"write", "read"})
    assert len(trail) == 8 * 20 * 2
    assert all(record["actor"] == "user-" + record["path"].split("/")[0][1:] for record in trail)


def test_concurrent_asyncio_tasks_each_record_their_own_actor(docs: AuditedFilesystemAdapter) -> None:
    async def request(user: int) -> None:
        with acting_as(f"user-{user}"):
            for index in range(5):
                await docs.aio.put(f"u{user}/{index}.txt", b"x")
                await asyncio.sleep(0)  # let the other tasks interleave with this one
                await docs.aio.get(f"u{user}/{index}.txt")

    async def main() -> None:
        await asyncio.gather(*(request(user) for user in range(6)))

    asyncio.run(main())
    trail = records(docs, operations={"write", "read"})
    assert len(trail) == 6 * 5 * 2
    assert all(record["actor"] == "user-" + record["path"].split("/")[0][1:] for record in trail)


# -- secrets never reach the trail ----------------------------------------------------------------


def test_contents_metadata_and_signed_url_signatures_never_reach_the_trail(docs: AuditedFilesystemAdapter) -> None:
    manager = docs.manager
    assert isinstance(manager, StorageManager)
    secret_content = "content-" + uuid.uuid4().hex
    secret_metadata = "metadata-" + uuid.uuid4().hex
    docs.put("private/card.txt", secret_content, metadata={"token": secret_metadata})
    link = docs.temporary_url("private/card.txt", expires=600)
    signature = parse_qs(urlsplit(link).query)["signature"][0]
    docs.flush()
    raw = b"".join(manager.disk("trail").get(path) for path in manager.disk("trail").all_files())
    assert b"temporary_url" in raw  # the signing was recorded...
    for secret in (secret_content, secret_metadata, signature, urlsplit(link).query):
        assert secret.encode() not in raw  # ...but not what it produced, nor what was written


def test_an_s3_presigned_url_signature_never_reaches_the_trail(s3_endpoint: str) -> None:
    bucket = f"flystore-{uuid.uuid4().hex[:16]}"
    manager = StorageManager({"disks": {
        "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, "create_bucket": True, **CREDENTIALS},
        "trail": {"driver": "memory"},
        "a": {"driver": "audited", "disk": "s3", "trail": "trail"},
    }})
    disk = manager.disk("a")
    assert isinstance(disk, AuditedFilesystemAdapter)
    try:
        disk.put("invoice.pdf", b"%PDF")
        link = disk.temporary_url("invoice.pdf", expires=300)
        query = parse_qs(urlsplit(link).query)
        signature, credential = query["X-Amz-Signature"][0], query["X-Amz-Credential"][0]
        disk.flush()
        raw = b"".join(manager.disk("trail").get(path) for path in manager.disk("trail").all_files())
        assert b'"operation":"temporary_url"' in raw
        for secret in (signature, credential, "X-Amz", CREDENTIALS["secret"] + "/"):
            assert secret.encode() not in raw
    finally:
        disk.close()
        remove_bucket(raw_client(s3_endpoint), bucket)
        manager.disk("s3").close()


def test_hostile_paths_and_actors_cannot_forge_fields_or_lines(docs: AuditedFilesystemAdapter) -> None:
    manager = docs.manager
    assert isinstance(manager, StorageManager)
    forged_path = 'x","actor":"admin","outcome":"ok'
    with acting_as('mallory","actor":"admin'), pytest.raises(FileNotFound):
        docs.get(forged_path)
    with acting_as("eve\n{\"actor\": \"admin\"}\u2028{\"actor\": \"root\"}\u2029"):
        docs.put("line\u2028break\u2029.txt", "x")
    docs.flush()
    trail = records(docs)
    text = "".join(manager.disk("trail").get(path).decode() for path in manager.disk("trail").all_files())
    lines = text.splitlines()  # str.splitlines breaks on U+2028/2029 too: none may be left raw
    assert len(lines) == len(trail) and all(isinstance(json.loads(line), dict) for line in lines)
    assert not any(json.loads(line)["actor"] in ("admin", "root") for line in lines)
    assert {record["actor"] for record in trail} == {'mallory","actor":"admin',
                                                     "eve\n{\"actor\": \"admin\"}\u2028{\"actor\": \"root\"}\u2029"}
    assert {record["path"] for record in trail} >= {forged_path, "line\u2028break\u2029.txt"}


class _LeakyBackend(Backend):
    """A driver whose errors carry a secret in their message (as some SDK errors quote a token)."""

    def write(self, path: str, data: bytes, options: Any) -> None:
        raise UnableToWriteFile.at(path, "signature=SECRET-IN-MESSAGE rejected")

    def file_exists(self, path: str) -> bool:
        return False

    def directory_exists(self, path: str) -> bool:
        return False


def test_error_messages_never_reach_the_trail_only_their_class() -> None:
    manager = StorageManager({"disks": {
        "leaky": {"driver": "leaky"},
        "trail": {"driver": "memory"},
        "a": {"driver": "audited", "disk": "leaky", "trail": "trail"},
    }})
    manager.extend("leaky", lambda options, manager: _LeakyBackend())
    disk = manager.disk("a")
    assert isinstance(disk, AuditedFilesystemAdapter)
    with pytest.raises(UnableToWriteFile, match="SECRET-IN-MESSAGE"):
        disk.put("x.txt", "data")
    disk.flush()
    raw = b"".join(manager.disk("trail").get(path) for path in manager.disk("trail").all_files())
    assert b'"outcome":"UnableToWriteFile"' in raw and b"SECRET" not in raw
    disk.close()


# -- never blocking, flushing --------------------------------------------------------------------------


class _GatedHandler(logging.Handler):
    """A real logging handler that holds every record until the gate opens (a stuck log shipper)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.lines: list[str] = []
        self.audits: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.gate.wait()
        self.lines.append(record.getMessage())
        self.audits.append(record.audit)  # type: ignore[attr-defined]


def test_a_stuck_sink_never_blocks_operations_and_lost_records_are_counted() -> None:
    handler = _GatedHandler()
    logger = logging.getLogger(f"test.audit.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    manager = StorageManager({"disks": {
        "files": {"driver": "memory"},
        "a": {"driver": "audited", "disk": "files", "logger": logger.name, "max_queue": 5, "batch_size": 1},
    }})
    disk = manager.disk("a")
    assert isinstance(disk, AuditedFilesystemAdapter)
    worker = threading.Thread(target=lambda: [disk.put(f"f{index}.txt", b"x") for index in range(200)])
    worker.start()
    worker.join(timeout=60)  # a deadlock guard only: with a blocking audit this would never finish
    assert not worker.is_alive()
    assert manager.disk("files").files() == [f"f{index}.txt" for index in sorted(range(200), key=str)]
    # One record is in the handler, five wait in the queue: everything else was dropped and counted.
    assert disk.dropped >= 200 - 1 - 5 - 1
    handler.gate.set()
    assert disk.flush()
    notices = [audit for audit in handler.audits if audit["operation"] == "audit_dropped"]
    assert sum(notice["count"] for notice in notices) == disk.dropped
    writes = [audit for audit in handler.audits if audit["operation"] == "write"]
    assert len(writes) + disk.dropped == 200
    assert all(json.loads(line) == audit for line, audit in zip(handler.lines, handler.audits, strict=True))
    disk.close()


def test_a_failing_trail_disk_loses_records_with_a_warning_but_never_fails_operations(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manager = StorageManager({"disks": {
        "files": {"driver": "memory"},
        "trail": {"driver": "memory", "read_only": True},
        "a": {"driver": "audited", "disk": "files", "trail": "trail"},
    }})
    disk = manager.disk("a")
    assert isinstance(disk, AuditedFilesystemAdapter)
    with caplog.at_level(logging.WARNING, logger="flystore.audited"):
        disk.put("kept.txt", "x")
        assert disk.flush()
    assert manager.disk("files").get("kept.txt") == b"x"
    assert disk.audit_writer.failed == 1 and disk.audit_writer.written == 0
    assert "audit records of disk 'a' were lost" in caplog.text
    disk.close()


def test_close_writes_what_is_queued_and_later_records_are_dropped() -> None:
    manager, disk = audited(flush_interval=3600.0)
    disk.put("one.txt", "1")
    assert manager.disk("trail").all_files() == []  # still waiting for its batch
    disk.close()
    (path,) = manager.disk("trail").all_files()
    assert TRAIL_FILE.match(path)
    assert [json.loads(line)["path"] for line in manager.disk("trail").get(path).splitlines()] == ["one.txt"]
    disk.close()  # twice is fine


def test_reconfiguring_the_manager_flushes_to_a_remote_trail_before_closing_it(azure_connection_string: str) -> None:
    from azure.storage.blob import BlobServiceClient

    container = f"fly-{uuid.uuid4().hex[:16]}"
    manager = StorageManager({"disks": {
        "files": {"driver": "memory"},
        "trail": {"driver": "azure", "connection_string": azure_connection_string, "container": container,
                  "create_container": True},  # a closed azure disk stays closed: the order matters
        "a": {"driver": "audited", "disk": "files", "trail": "trail", "flush_interval": 3600.0},
    }})
    manager.disk("a").put("last.txt", "x")
    manager.configure({"disks": {"files": {"driver": "memory"}}})  # closes the audited disk, then its trail
    with BlobServiceClient.from_connection_string(azure_connection_string) as service:
        blobs = service.get_container_client(container)
        try:
            (blob,) = list(blobs.list_blobs())
            assert json.loads(blobs.download_blob(blob.name).readall())["path"] == "last.txt"
        finally:
            blobs.delete_container()


def test_records_are_written_at_interpreter_exit(tmp_path: Path) -> None:
    script = f"""
from flystore import StorageManager
manager = StorageManager({{"disks": {{
    "files": {{"driver": "local", "root": {str(tmp_path / "files")!r}}},
    "trail": {{"driver": "local", "root": {str(tmp_path / "trail")!r}}},
    "a": {{"driver": "audited", "disk": "files", "trail": "trail", "flush_interval": 3600}},
}}}})
with manager.acting_as("cron"):
    manager.disk("a").put("nightly.txt", "done")
"""  # no close(), no flush(): the atexit hook writes the batch
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    (trail_file,) = (tmp_path / "trail").rglob("*.jsonl")
    assert TRAIL_FILE.match(trail_file.relative_to(tmp_path / "trail").as_posix())
    (record,) = [json.loads(line) for line in trail_file.read_text().splitlines()]
    assert (record["actor"], record["operation"], record["path"]) == ("cron", "write", "nightly.txt")


# -- configuration -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "option"), [
    ({}, "trail"),
    ({"trail": "trail", "logger": "app.audit"}, "trail"),
    ({"trail": "a"}, None),  # the manager refuses the loop a -> a up front, before the audited disk is built
    ({"trail": "files"}, "trail"),
    ({"trail": "nowhere"}, "trail"),
    ({"trail": "trail", "max_queue": 0}, "max_queue"),
    ({"trail": "trail", "flush_interval": "soon"}, "flush_interval"),
    ({"trail": "trail", "batch_size": 2.5}, "batch_size"),
    ({"trail": "trail", "prefix": "../out"}, "prefix"),
    ({"trail": "trail", "secret": "x"}, None),
])
def test_bad_options_are_refused_naming_the_disk(options: dict[str, Any], option: str | None) -> None:
    manager = StorageManager({"disks": {"files": {"driver": "memory"}, "trail": {"driver": "memory"},
                                        "a": {"driver": "audited", "disk": "files", **options}}})
    with pytest.raises(InvalidConfiguration) as caught:
        manager.disk("a")
    assert caught.value.disk == "a"
    if option is not None:
        assert caught.value.option == option


def test_an_audited_disk_travels_as_configuration_and_keeps_auditing(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {
        "files": {"driver": "local", "root": str(tmp_path / "files")},
        "trail": {"driver": "local", "root": str(tmp_path / "trail")},
        "docs": {"driver": "audited", "disk": "files", "trail": "trail"},
    }})
    docs = manager.disk("docs")
    docs.put("shared.txt", "x")
    clone = pickle.loads(pickle.dumps(docs.fs))
    assert clone.cat_file("shared.txt") == b"x"
    rebuilt = clone.disk
    assert isinstance(rebuilt, AuditedFilesystemAdapter) and rebuilt is not docs
    rebuilt.close()
    docs.close()
    trail = read_trail(manager.disk("trail"), "audit", TrailFilter(path="shared.txt"))
    assert {record["operation"] for record in trail} >= {"write", "read"}
