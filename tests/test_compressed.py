"""The compressed decorator: interoperability, size from the footer, ranged reads, skipping, tampering, memory."""

from __future__ import annotations

import gzip
import io
import os
import random
import subprocess
import sys
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from flystore import (
    CompressedFilesystemAdapter,
    DriverNotInstalled,
    FileNotFound,
    FilesystemAdapter,
    IntegrityError,
    InvalidConfiguration,
    StorageManager,
)
from flystore.decorators.compressed.format import FOOTER_SIZE, TAIL_PROBE
from flystore.drivers.memory import MemoryBackend
from tests.counting import Counting
from tests.decorator_checks import assert_urls_refused
from tests.services import require_executable

FRAME = 4096


def text(size: int, seed: int = 7) -> bytes:
    """Log-like lines: compressible, but no two frames alike."""
    rng = random.Random(seed)
    words = ["GET", "PUT", "/api/v1/users", "/static/app.js", "200", "404", "ok", "timeout", "cache", "hit"]
    out = bytearray()
    while len(out) < size:
        out += f"{rng.randrange(10**9)} {' '.join(rng.choices(words, k=6))}\n".encode()
    return bytes(out[:size])


DATA = text(5 * FRAME + 123)  # six frames, the last partial


def disks(codec: str = "zstd", frame_size: int = FRAME) -> tuple[CompressedFilesystemAdapter, FilesystemAdapter]:
    raw = FilesystemAdapter(MemoryBackend(), name="raw")
    return CompressedFilesystemAdapter(raw, codec, frame_size=frame_size, name="z"), raw


@pytest.fixture(params=["zstd", "gzip"])
def pair(request: pytest.FixtureRequest) -> tuple[CompressedFilesystemAdapter, FilesystemAdapter]:
    return disks(request.param)


# -- the stored form ----------------------------------------------------------------------


def test_a_zstd_file_is_readable_by_zstd_and_a_gzip_file_by_gzip() -> None:
    zdisk, zraw = disks("zstd")
    gdisk, graw = disks("gzip")
    for disk in (zdisk, gdisk):
        disk.put("a.log", DATA)
        disk.write_stream("b.log", iter([DATA[i:i + 1000] for i in range(0, len(DATA), 1000)]))
    for path in ("a.log", "b.log"):
        stored = zraw.get(path)
        # Concatenated frames plus a skippable frame: what the zstd command line reads.
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(stored), read_across_frames=True)
        assert reader.read() == DATA
        assert gzip.decompress(graw.get(path)) == DATA
        assert len(stored) < len(DATA) / 2 and len(graw.get(path)) < len(DATA) / 2


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_the_command_line_tools_read_the_stored_files(tmp_path: Path, codec: str) -> None:
    tool = require_executable(codec)
    manager = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path)},
                                        "z": {"driver": "compressed", "disk": "local", "codec": codec}}})
    disk = manager.disk("z")
    disk.put("a.log", DATA)
    disk.put("r.bin", os.urandom(50_000))  # skipped: still readable by gzip; zstd's raw frames are not zstd
    done = subprocess.run([tool, "-dc", str(tmp_path / "a.log")], capture_output=True, check=True)
    assert done.stdout == DATA
    if codec == "gzip":
        done = subprocess.run([tool, "-dc", str(tmp_path / "r.bin")], capture_output=True, check=True)
        assert done.stdout == disk.get("r.bin")


@pytest.mark.parametrize("size", [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME])
def test_sizes_at_frame_boundaries_round_trip(pair: tuple[CompressedFilesystemAdapter, FilesystemAdapter],
                                              size: int) -> None:
    disk, _ = pair
    data = text(size)
    disk.put("f.txt", data)
    disk.write_stream("g.txt", iter([data[i:i + 999] for i in range(0, size, 999)]))
    for path in ("f.txt", "g.txt"):
        assert disk.get(path) == data and disk.size(path) == size
        info = disk.compression_info(path)
        assert (info.size, info.frames) == (size, -(-size // FRAME))


def test_one_disk_reads_files_of_every_codec() -> None:
    zdisk, raw = disks("zstd")
    gdisk = CompressedFilesystemAdapter(raw, "gzip", frame_size=FRAME)
    gdisk.put("g.txt", DATA)
    zdisk.put("z.txt", DATA)
    zdisk.put("r.bin", os.urandom(10_000))
    assert zdisk.get("g.txt") == DATA and gdisk.get("z.txt") == DATA
    assert [zdisk.compression_info(p).codec for p in ("g.txt", "z.txt", "r.bin")] == ["gzip", "zstd", "raw"]


# -- size and ranged reads ----------------------------------------------------------------


def test_size_is_one_stat_and_one_small_read_at_the_end() -> None:
    counting = Counting(MemoryBackend())
    disk = CompressedFilesystemAdapter(FilesystemAdapter(counting, name="base"), frame_size=FRAME)
    disk.put("f.txt", DATA)
    counting.counter.clear()
    assert disk.size("f.txt") == len(DATA)
    assert counting.counter == Counter({"stat": 1, "open": 1, "bytes": TAIL_PROBE})
    assert [entry.size for entry in disk.list("")] == [len(DATA)]


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_a_ranged_read_reads_the_trailer_and_one_frame(codec: str) -> None:
    counting = Counting(MemoryBackend())
    disk = CompressedFilesystemAdapter(FilesystemAdapter(counting, name="base"), codec, frame_size=FRAME)
    big = text(200 * FRAME)
    disk.put("big.txt", big)
    stored = counting.inner.stat("big.txt").size
    counting.counter.clear()
    with disk.open("big.txt") as handle:
        handle.seek(150 * FRAME + 100)
        assert handle.read(200) == big[150 * FRAME + 100:150 * FRAME + 300]
        handle.seek(-10, io.SEEK_END)
        assert handle.read() == big[-10:]
    # The last 64 KiB (trailer and index) and one frame: a small part of the stored file.
    assert counting.counter["read"] == 0 and counting.counter["bytes"] < 64 * 1024 + 2 * FRAME < stored


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5 * 4096) | st.text(max_size=4000).map(str.encode),
       frame_kib=st.integers(4, 6), codec=st.sampled_from(["zstd", "gzip"]),
       reads=st.lists(st.tuples(st.integers(0, 6 * 4096), st.integers(-1, 9000)), max_size=8))
def test_any_content_round_trips_and_any_ranged_read_matches(data: bytes, frame_kib: int, codec: str,
                                                              reads: list[tuple[int, int]]) -> None:
    disk, _ = disks(codec, frame_kib * 1024)
    disk.put("f", data)
    assert disk.get("f") == data and disk.size("f") == len(data)
    with disk.open("f") as handle:
        for offset, size in reads:
            handle.seek(offset)
            expected = data[offset:] if size < 0 else data[offset:offset + size]
            assert handle.read(size) == expected
            assert handle.tell() == offset + len(expected)


# -- skipping what is compressed already ---------------------------------------------------


@pytest.mark.parametrize("head", [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"PK\x03\x04", b"\x1f\x8b\x08",
                                  b"\x28\xb5\x2f\xfd", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c",
                                  b"\x00\x00\x00\x18ftypmp42", b"RIFF\x00\x00\x00\x00WEBP", b"GIF89a"])
def test_already_compressed_formats_are_stored_raw_by_their_signature(head: bytes) -> None:
    disk, raw = disks("zstd")
    data = head + b"a" * 50_000  # compressible after the signature: skipped by content type, not ratio
    disk.put("f", data)
    info = disk.compression_info("f")
    assert info.skipped and info.codec == "raw" and disk.get("f") == data
    assert raw.size("f") < len(data) + 200


def test_incompressible_bytes_are_stored_raw_after_the_probe(pair: tuple[CompressedFilesystemAdapter,
                                                                         FilesystemAdapter]) -> None:
    disk, raw = pair
    data = os.urandom(3 * FRAME)
    disk.write_stream("r.bin", io.BytesIO(data))
    info = disk.compression_info("r.bin")
    assert info.skipped and disk.get("r.bin") == data
    if disk.compression_info("r.bin").codec == "gzip":
        assert gzip.decompress(raw.get("r.bin")) == data  # stored deflate blocks: still a plain .gz
    else:
        assert info.codec == "raw"


def test_compressible_text_is_not_skipped(pair: tuple[CompressedFilesystemAdapter, FilesystemAdapter]) -> None:
    disk, _ = pair
    disk.put("t.txt", DATA)
    info = disk.compression_info("t.txt")
    assert not info.skipped and info.ratio > 2


# -- tampering: every flipped byte, every cut, swapped frames ----------------------------


def _all_reads_fail(disk: FilesystemAdapter, path: str) -> None:
    with pytest.raises(IntegrityError):
        disk.get(path)
    with pytest.raises(IntegrityError):
        with disk.read_stream(path) as stream:
            b"".join(stream)
    with pytest.raises(IntegrityError):
        disk.checksum(path)
    with pytest.raises(IntegrityError) as caught:
        with disk.open(path) as handle:
            handle.read()
    assert (caught.value.disk, caught.value.path) == (disk.name, path)  # found mid-read, still named


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_every_flipped_byte_raises_integrity_error(codec: str) -> None:
    disk, raw = disks(codec)
    disk.put("f.txt", DATA)
    stored = raw.get("f.txt")
    for position in range(len(stored)):
        tampered = bytearray(stored)
        tampered[position] ^= 0x01 << (position % 8)
        raw.put("t.txt", bytes(tampered))
        with pytest.raises(IntegrityError):
            disk.get("t.txt")
    _all_reads_fail(disk, "t.txt")


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_every_truncation_and_any_appended_byte_raise_integrity_error(codec: str) -> None:
    disk, raw = disks(codec)
    disk.put("f.txt", DATA)
    stored = raw.get("f.txt")
    for cut in range(len(stored)):
        raw.put("t.txt", stored[:cut])
        with pytest.raises(IntegrityError):
            disk.get("t.txt")
        with pytest.raises(IntegrityError):
            disk.size("t.txt")
    for extra in (b"\x00", b"FLYZ", stored[-FOOTER_SIZE:]):
        raw.put("t.txt", stored + extra)
        _all_reads_fail(disk, "t.txt")


def _frame_spans(stored: bytes, codec: str) -> list[tuple[int, int]]:
    """Where each frame of a stored file starts and ends, found by the codec's own decoder."""
    spans = []
    position = 0
    for _ in range(4):
        decoder: Any = zlib.decompressobj(31) if codec == "gzip" else zstandard.ZstdDecompressor().decompressobj()
        decoder.decompress(stored[position:])
        end = len(stored) - len(decoder.unused_data)
        spans.append((position, end))
        position = end
    return spans


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_swapped_frames_raise_integrity_error_even_through_a_ranged_read(codec: str) -> None:
    disk, raw = disks(codec)
    disk.put("f.txt", b"".join(bytes([65 + n]) * FRAME for n in range(4)))  # four frames of one length
    stored = raw.get("f.txt")
    (a0, a1), (b0, b1) = _frame_spans(stored, codec)[:2]
    assert a1 - a0 == b1 - b0 and a1 == b0
    raw.put("s.txt", stored[b0:b1] + stored[a0:a1] + stored[b1:])
    _all_reads_fail(disk, "s.txt")
    with pytest.raises(IntegrityError):
        with disk.open("s.txt") as handle:
            handle.seek(5)
            handle.read(10)
    with disk.open("f.txt") as handle:  # the untouched file reads the same range
        handle.seek(FRAME + 5)
        assert handle.read(10) == b"B" * 10


def test_a_file_written_around_the_disk_is_an_integrity_error() -> None:
    disk, raw = disks()
    raw.put("plain.txt", b"not compressed by flystore")
    raw.put("empty.txt", b"")
    for path in ("plain.txt", "empty.txt"):
        _all_reads_fail(disk, path)
        with pytest.raises(IntegrityError) as caught:
            disk.size(path)
        assert (caught.value.disk, caught.value.path) == ("z", path)


PINNED = {
    "zstd": "28b52ffd20279d0000686672616d6520666f726d617420010060cf2f5f2a4d182c0000000000001cbb76cc1100001000000000"
            "0000000001000000000000002757c2c0230101000061823af7464c595a",
    "gzip": "1f8b08000000000000034b2b4acc4d5548cb2fca4d2c5148c3c9010093ed0523270000001f8b08100000000000ff414141414a"
            "4833703265303d414141514141414141414141414141424141414141414141414366675243565141514941414b7a4b6c505a"
            "4754466c610003000000000000000000",
}


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_a_file_written_in_format_1_stays_readable(codec: str) -> None:
    """b"frame format " * 3 stored once by version 1: a change of the format that breaks old files fails here."""
    disk, raw = disks()
    raw.put("pinned.txt", bytes.fromhex(PINNED[codec]))
    assert disk.get("pinned.txt") == b"frame format " * 3
    assert disk.size("pinned.txt") == 39 and disk.compression_info("pinned.txt").codec == codec


# -- memory ---------------------------------------------------------------------------------


def test_64_mib_streams_through_in_bounded_memory(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path)},
                                        "z": {"driver": "compressed", "disk": "local", "level": 1}}})
    disk = manager.disk("z")
    block = text(1024 * 1024)
    total = 64 * 1024 * 1024

    def chunks() -> Iterator[bytes]:
        for number in range(total // len(block)):
            yield block[number:] + block[:number]  # no two MiB alike

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        disk.write_stream("big.log", chunks())
        written_peak = tracemalloc.get_traced_memory()[1] - baseline
        tracemalloc.reset_peak()
        seen = 0
        with disk.read_stream("big.log") as stream:
            for chunk in stream:
                seen += len(chunk)
        read_peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert seen == total and disk.size("big.log") == total
    # Below the stored form's size, let alone the original's: neither was ever held whole.
    bound = 12 * 1024 * 1024
    assert disk.compression_info("big.log").stored_size > bound
    assert written_peak < bound, written_peak
    assert read_peak < bound, read_peak


# -- configuration, URLs, nesting ----------------------------------------------------------


@pytest.mark.parametrize(("options", "option"), [
    ({"codec": "brotli"}, "codec"), ({"level": 30}, "level"), ({"codec": "gzip", "level": 0}, "level"),
    ({"level": "3"}, "level"), ({"frame_size": 100}, "frame_size"), ({"frame_size": 2**27}, "frame_size"),
    ({"frame_sizes": 4096}, "frame_sizes"),
])
def test_bad_options_name_the_disk_and_the_option(options: dict[str, Any], option: str) -> None:
    manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                        "z": {"driver": "compressed", "disk": "m", **options}}})
    with pytest.raises(InvalidConfiguration) as caught:
        manager.disk("z")
    assert (caught.value.disk, caught.value.option) == ("z", option)


def test_without_zstandard_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zstandard", None)
    manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                        "z": {"driver": "compressed", "disk": "m"},
                                        "g": {"driver": "compressed", "disk": "m", "codec": "gzip"}}})
    with pytest.raises(DriverNotInstalled, match=r'pip install "flystore\[compress\]"') as caught:
        manager.disk("z")
    assert caught.value.disk == "z" and caught.value.extra == "compress"
    manager.disk("g").put("a.txt", DATA)  # gzip needs nothing extra
    assert manager.disk("g").get("a.txt") == DATA


def test_urls_are_refused_and_there_is_no_local_path(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path), "url": "/files"},
                                        "z": {"driver": "compressed", "disk": "local"}}})
    disk = manager.disk("z")
    disk.put("f.txt", DATA)
    assert_urls_refused(disk, "f.txt", "compressed", download="the compressed form", upload="uncompressed bytes")
    with pytest.raises(FileNotFound):
        disk.compression_info("missing.txt")


def test_compressed_over_encrypted_compresses_before_encrypting(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {
        "local": {"driver": "local", "root": str(tmp_path)},
        "e": {"driver": "encrypted", "disk": "local", "key": os.urandom(32)},
        "z": {"driver": "compressed", "disk": "e"},
    }})
    disk = manager.disk("z")
    disk.put("f.log", DATA)
    stored = (tmp_path / "f.log").read_bytes()
    assert stored[:4] == b"FLYE" and b"GET" not in stored
    assert len(stored) < len(DATA) / 2  # compressed first: ciphertext itself would not shrink
    assert disk.get("f.log") == DATA and disk.size("f.log") == len(DATA)
    with disk.open("f.log") as handle:
        handle.seek(3 * FRAME)
        assert handle.read(50) == DATA[3 * FRAME:3 * FRAME + 50]


def test_pandas_reads_one_column_of_a_parquet_file_without_decompressing_the_rest() -> None:
    import pandas  # type: ignore[import-untyped]  # test dependencies: missing fails, never skips
    import pyarrow  # type: ignore[import-untyped]  # noqa: F401  # pandas' parquet engine

    counting = Counting(MemoryBackend())
    disk = CompressedFilesystemAdapter(FilesystemAdapter(counting, name="base"), frame_size=64 * 1024)
    rng = random.Random(3)
    frame = pandas.DataFrame({"n": range(50_000), "s": [rng.randbytes(24).hex() for _ in range(50_000)]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, compression=None)  # the disk compresses
    disk.put("tables/t.parquet", buffer.getvalue())
    stored = counting.inner.stat("tables/t.parquet").size
    counting.counter.clear()
    some = pandas.read_parquet("tables/t.parquet", filesystem=disk.fs, columns=["n"])
    assert some["n"].sum() == sum(range(50_000))
    assert counting.counter["bytes"] < stored / 3  # the frames of the wide column were never read
    assert pandas.read_parquet("tables/t.parquet", filesystem=disk.fs).equals(frame)
