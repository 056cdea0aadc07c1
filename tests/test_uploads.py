"""flystore.uploads against real disks (local, memory) and a real clamd."""

from __future__ import annotations

import asyncio
import io
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from flystore import StorageManager
from flystore.errors import UnableToWriteFile, UploadRejected
from flystore.uploads import FileValidator, Pipeline, UploadConfig, UploadHandler, VirusScanner, resolve_address
from flystore.uploads.middleware import UploadLimitMiddleware  # noqa: F401  # importable without FastAPI
from tests.services_clamd import EICAR

MIB = 1024 * 1024


def jpeg(size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, "JPEG")
    return buffer.getvalue()


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, "PNG")
    return buffer.getvalue()


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "GIF")
    return buffer.getvalue()


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[StorageManager]:
    storage = StorageManager(
        {
            "default": "local",
            "disks": {"local": {"driver": "local", "root": str(tmp_path / "root")}, "mem": {"driver": "memory"}},
        }
    )
    yield storage


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def process(manager: StorageManager, data: Any, name: str = "", **config: Any) -> Any:
    handler = UploadHandler(UploadConfig(disk="local", **config), manager=manager)
    source = named(data, name) if isinstance(data, bytes) else data
    return asyncio.run(handler.process_file(source))


def rejected(manager: StorageManager, data: bytes, name: str, **config: Any) -> str:
    with pytest.raises(UploadRejected) as caught:
        process(manager, data, name, **config)
    assert manager.disk("local").all_files() == [], "a refused upload left a file"
    assert caught.value.path is not None
    return caught.value.reason


class Endless(io.RawIOBase):
    """A non-seekable 200 MiB upload that counts what was read and lies about its size."""

    size = 10  # a spoofed UploadFile.size must change nothing

    def __init__(self, total: int = 200 * MIB) -> None:
        self.total, self.served = total, 0
        self.filename = "big.txt"
        self.file = self

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        size = min(size if size > 0 else MIB, self.total - self.served)
        self.served += size
        return b"a" * size


def test_size_limit_is_enforced_while_reading_with_bounded_memory(manager: StorageManager) -> None:
    upload = Endless()
    tracemalloc.start()
    try:
        with pytest.raises(UploadRejected) as caught:
            process(manager, upload, max_file_size=MIB)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason == "too_large"
    assert upload.served <= 3 * MIB, f"read {upload.served} bytes of a refused upload"
    assert peak < 8 * MIB
    assert manager.disk("local").all_files() == []


def test_a_real_upload_file_with_a_spoofed_size_is_still_counted(manager: StorageManager) -> None:
    from starlette.datastructures import UploadFile

    source = Endless(3 * MIB)
    upload = UploadFile(file=source, size=10, filename="small.txt")  # type: ignore[arg-type]
    with pytest.raises(UploadRejected) as caught:
        process(manager, upload, max_file_size=MIB)
    assert caught.value.reason == "too_large" and source.served <= 2 * MIB + 1
    assert manager.disk("local").all_files() == []


def test_a_file_at_the_limit_passes_and_one_byte_more_is_refused(manager: StorageManager) -> None:
    assert process(manager, b"x" * 1000, "a.txt", max_file_size=1000).metadata["size"] == 1000
    manager.disk("local").delete_directory("uploads")
    assert rejected(manager, b"x" * 1001, "a.txt", max_file_size=1000) == "too_large"


def test_failure_mid_store_leaves_nothing(manager: StorageManager) -> None:
    class Broken(io.RawIOBase):
        name = "x.txt"
        sent = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.sent += 1
            if self.sent > 3:
                raise OSError("connection reset by client")
            return b"y" * 65536

    with pytest.raises(UnableToWriteFile):
        process(manager, Broken())
    assert manager.disk("local").all_files() == []


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"MZ\x90\x00" + b"\0" * 200, "photo.jpg", "malicious_content"),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 200, "photo.png", "malicious_content"),
        (b"<html><body>hi</body></html>", "photo.jpg", "malicious_content"),
        (b"<?php system($_GET['c']); ?>", "photo.jpg", "malicious_content"),
        (b"#!/bin/sh\nrm -rf /\n", "photo.gif", "malicious_content"),
        (gif() + b"<?php echo 1; ?>", "a.gif", "malicious_content"),
        (jpeg() + b"\0" * 3 * MIB + b"<?PHP echo 1; ?>", "a.jpg", "malicious_content"),
        (png(), "photo.jpg", "type_mismatch"),
        (b"%PDF-1.4\n" + b"0" * 100, "photo.jpg", "type_mismatch"),
        (jpeg(), "photo.php.jpg", "extension_not_allowed"),
        (jpeg(), "photo.jpg.php", "extension_not_allowed"),
        (jpeg(), "photo.PhTmL", "extension_not_allowed"),
        (jpeg(), ".htaccess", "extension_not_allowed"),
        (jpeg(), "a.PHAR", "extension_not_allowed"),
        (b"hello", "a.exe", "extension_not_allowed"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "a.svg", "malicious_content"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.png", "malicious_content"),
    ],
    ids=lambda value: value if isinstance(value, str) else "bytes",
)
def test_content_decides_not_the_name(manager: StorageManager, data: bytes, name: str, reason: str) -> None:
    assert rejected(manager, data, name, max_file_size=10 * MIB) == reason


def test_binary_files_holding_short_markup_bytes_by_chance_are_accepted(manager: StorageManager) -> None:
    """Random bytes hold "<%" in most 64 KiB heads: only text is checked for ASP/JSP and "<?=" markers."""
    import random
    import zipfile

    generator = random.Random(7)
    holding_markers = 0
    for number in range(20):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("noise.bin", generator.randbytes(200_000))
        data = buffer.getvalue()
        holding_markers += b"<%" in data[:65536] or b"<?=" in data[:65536]
        assert process(manager, data, f"archive{number}.zip", max_file_size=MIB)
    assert holding_markers >= 10  # the corpus does hold what used to be refused
    assert len(manager.disk("local").all_files()) == 20
    manager.disk("local").delete_directory("uploads")
    for text in (b"<% Response.Write(1) %>", b"<%@ page import='java.io.*' %>", b"hi <?= $x ?>"):
        assert rejected(manager, text, "notes.txt") == "malicious_content"


def test_allow_lists(manager: StorageManager) -> None:
    assert rejected(manager, b"hello", "a.txt", allowed_extensions={".jpg"}) == "extension_not_allowed"
    assert rejected(manager, jpeg(), "a.jpg", allowed_mime_types={"application/pdf"}) == "type_not_allowed"
    assert process(manager, jpeg(), "a.JPG", allowed_extensions={"jpg"}, allowed_mime_types={"image/*"})


def test_allowed_svg_is_sanitized(manager: StorageManager) -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="x()">'
        b'<script>alert(1)</script><a xlink:href="javascript:alert(1)"><rect width="5" height="5"/></a></svg>'
    )
    result = process(manager, svg, "logo.svg", allowed_extensions={".svg"})
    stored = manager.disk("local").get(result.file_path)
    assert b"script" not in stored and b"onload" not in stored and b"javascript" not in stored
    assert b"rect" in stored and result.metadata["mime_type"] == "image/svg+xml"


@pytest.mark.parametrize(
    "hostile",
    [
        "../../../etc/passwd.jpg",
        "/etc/cron.d/x.jpg",
        "C:\\Windows\\System32\\x.jpg",
        "..%2F..%2Fx.jpg",
        "a\x00b.jpg",
        "evil\u202egpj.jpg",
        "x" * 5000 + ".jpg",
        "\x00\x01.jpg",
    ],
)
def test_client_filename_never_decides_the_path(manager: StorageManager, hostile: str) -> None:
    result = process(manager, jpeg(), hostile, organize_by_date=True)
    parts = result.file_path.split("/")
    assert parts[0] == "uploads" and len(parts) == 5 and all(p.isdigit() for p in parts[1:4])
    assert len(parts[4]) == 36 and parts[4].endswith(".jpg")
    original = result.metadata["original_filename"]
    assert "/" not in original and "\\" not in original and "\x00" not in original and "\u202e" not in original
    assert len(original) <= 255
    assert manager.disk("local").metadata(result.file_path)["metadata"]["original_filename"] == original


def test_put_upload_progress_and_result(manager: StorageManager) -> None:
    seen: list[int] = []
    path = asyncio.run(
        manager.disk("mem").put_upload(
            named(b"z" * 300_000, "n.txt"), "docs", progress=lambda done, total: seen.append(done)
        )
    )
    assert path.startswith("docs/") and manager.disk("mem").get(path) == b"z" * 300_000
    assert seen[-1] == 300_000 and seen == sorted(seen)
    named_path = asyncio.run(manager.disk("mem").put_upload(named(b"q", "x.txt"), "docs", name="report.txt"))
    assert named_path == "docs/report.txt"


def test_async_iterator_and_path_sources(manager: StorageManager, tmp_path: Path) -> None:
    async def chunks() -> Any:
        for _ in range(3):
            yield b"abc"

    handler = UploadHandler(UploadConfig(disk="mem"), manager=manager)
    result = asyncio.run(handler.process_file(chunks(), filename="a.txt"))
    assert manager.disk("mem").get(result.file_path) == b"abcabcabc"
    local = tmp_path / "pic.jpg"
    local.write_bytes(jpeg())
    result = asyncio.run(handler.process_file(str(local)))
    assert result.metadata["original_filename"] == "pic.jpg" and result.metadata["image"]["width"] == 40


def test_clamd_address_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLAMD_SOCKET", "CLAMD_HOST", "CLAMD_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert resolve_address() == "tcp://127.0.0.1:3310"
    monkeypatch.setenv("CLAMD_HOST", "10.0.0.5")
    monkeypatch.setenv("CLAMD_PORT", "4000")
    assert resolve_address() == "tcp://10.0.0.5:4000"
    monkeypatch.setenv("CLAMD_SOCKET", "/run/clamd.sock")
    assert resolve_address() == "unix:///run/clamd.sock"
    assert resolve_address("tcp://h:1") == "tcp://h:1"


def test_eicar_is_caught_over_tcp_and_unix_even_deep(manager: StorageManager, clamd_server: dict[str, Any]) -> None:
    tcp = f"tcp://127.0.0.1:{clamd_server['port']}"
    unix = f"unix://{clamd_server['socket']}"
    for address in (tcp, unix):
        assert rejected(manager, EICAR, "e.txt", virus_scan=True, clamd=address) == "virus_found"
        deep = b"a" * 3 * MIB + EICAR + b"b" * 1000
        assert rejected(manager, deep, "e.txt", virus_scan=True, clamd=address) == "virus_found"
        clean = process(manager, b"clean " * 1000, "c.txt", virus_scan=True, clamd=address)
        assert manager.disk("local").file_exists(clean.file_path)
        manager.disk("local").delete(clean.file_path)
    validator = FileValidator(clamd=unix)
    validator.scan_for_viruses(b"fine")
    with pytest.raises(UploadRejected) as caught:
        validator.scan_for_viruses([b"x" * 1000, EICAR])
    assert caught.value.reason == "virus_found"


def test_scanner_down_fails_closed_unless_fail_open(manager: StorageManager) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"tcp://127.0.0.1:{probe.getsockname()[1]}"  # bound, not listening: refused
    assert rejected(manager, b"hi", "a.txt", virus_scan=True, clamd=dead) == "scanner_unavailable"
    stored = process(manager, b"hi", "a.txt", virus_scan=True, clamd=dead, virus_scan_fail_open=True)
    assert manager.disk("local").get(stored.file_path) == b"hi"


def test_pipeline_scans_resizes_and_extracts(manager: StorageManager, clamd_server: dict[str, Any]) -> None:
    from flystore.uploads import ImageOptimizer, ImageResizer, MetadataExtractor

    pipeline = Pipeline(UploadConfig(disk="local"), manager=manager)
    pipeline.add_processor(VirusScanner(f"unix://{clamd_server['socket']}")).add(ImageResizer(20, 20))
    pipeline.add(ImageOptimizer(70)).add(MetadataExtractor())
    result = asyncio.run(pipeline.process_upload(named(jpeg((400, 300)), "p.jpg")))
    assert result.metadata["image"]["width"] == 20 and result.metadata["image"]["height"] == 15
    with pytest.raises(UploadRejected):
        asyncio.run(pipeline.process_upload(named(b"a" * 100 + EICAR, "v.txt")))
    assert manager.disk("local").all_files() == [result.file_path]


def test_thumbnails_are_made_and_a_pixel_bomb_header_is_refused(manager: StorageManager) -> None:
    result = process(manager, jpeg((600, 400)), "p.jpg", generate_thumbnails=True, thumbnail_sizes=[(50, 50)])
    assert set(result.thumbnails) == {"50x50"}
    with Image.open(io.BytesIO(manager.disk("local").get(result.thumbnails["50x50"]))) as thumb:
        assert thumb.size == (50, 50)
    manager.disk("local").delete_directory("uploads")
    assert rejected(manager, png((3000, 3000)), "b.png", max_image_pixels=1_000_000) == "image_too_large"


def test_uploads_run_concurrently_in_threads(manager: StorageManager) -> None:
    handler = UploadHandler(UploadConfig(disk="mem"), manager=manager)

    async def many() -> list[Any]:
        return await asyncio.gather(*(handler.process_file(named(b"%d" % i, "n.txt")) for i in range(8)))

    results = asyncio.run(many())
    assert len({r.file_path for r in results}) == 8 and threading.active_count() >= 1


def test_markup_split_across_chunks_is_found() -> None:
    from flystore.uploads.content import MarkupScanner

    for cut in range(1, 7):
        scanner = MarkupScanner()
        payload = b"\xff" * 100 + b"<?PhP echo" + b"\0" * 10
        scanner.feed(payload[: 100 + cut])
        scanner.feed(payload[100 + cut :])
        assert scanner.found is not None, cut
    clean = MarkupScanner()
    clean.feed(b"<s<?<S<scrip" * 1000)
    assert clean.found is None
    busy = MarkupScanner()  # many "<" take the regex path
    busy.feed(b"<a" * 5000 + b"<ScRiPt>")
    assert busy.found == "<ScRiPt"


def test_missing_extras_name_the_pip_line(manager: StorageManager, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from flystore.errors import DriverNotInstalled
    from flystore.images import ImageProcessor

    monkeypatch.setitem(sys.modules, "puremagic", None)
    with pytest.raises(DriverNotInstalled) as caught:
        process(manager, b"data", "a.bin")
    assert 'pip install "flystore[uploads]"' in str(caught.value)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(DriverNotInstalled) as caught:
        ImageProcessor(manager=manager)
    assert "flystore[images]" in str(caught.value)


def test_nothing_is_left_on_s3_when_refused_mid_stream(s3_endpoint: str) -> None:
    import uuid

    storage = StorageManager(
        {
            "default": "s3",
            "disks": {
                "s3": {
                    "driver": "s3",
                    "bucket": f"up-{uuid.uuid4().hex[:12]}",
                    "endpoint": s3_endpoint,
                    "create_bucket": True,
                    "key": "testing",
                    "secret": "testing",
                    "region": "us-east-1",
                }
            },
        }
    )
    handler = UploadHandler(UploadConfig(disk="s3", max_file_size=12 * MIB), manager=storage)
    big = Endless(20 * MIB)
    with pytest.raises(UploadRejected) as caught:
        handler.process_file_sync(big)
    assert caught.value.reason == "too_large" and big.served > 6 * MIB  # refused after parts were sent
    polyglot = named(gif() + b"\0" * 7 * MIB + b"<?php echo 1;", "a.gif")
    with pytest.raises(UploadRejected):
        handler.process_file_sync(polyglot)
    assert storage.disk("s3").all_files() == []
    ok = handler.process_file_sync(named(b"fine", "a.txt"))
    assert storage.disk("s3").get(ok.file_path) == b"fine"
    storage.disk("s3").delete(ok.file_path)


def test_a_stream_longer_than_clamds_limit_fails_closed(manager: StorageManager, clamd_server: dict[str, Any]) -> None:
    big = Endless(30 * MIB)  # the fixture's clamd stops reading after StreamMaxLength 25M
    with pytest.raises(UploadRejected) as caught:
        process(manager, big, max_file_size=40 * MIB, virus_scan=True, clamd=f"unix://{clamd_server['socket']}")
    assert caught.value.reason == "scanner_unavailable"
    assert manager.disk("local").all_files() == []
