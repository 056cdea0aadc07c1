"""The encrypted decorator: format, tampering, keys, rotation, sizes, URLs, ranged reads, memory, disk.fs."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flystore import (
    EncryptedFilesystemAdapter,
    FileNotFound,
    FilesystemAdapter,
    IntegrityError,
    InvalidConfiguration,
    StorageManager,
)
from flystore.decorators.encrypted.format import HEADER_SIZE, SEALED_SEGMENT, SEGMENT_SIZE, ciphertext_size
from flystore.drivers.memory import MemoryBackend
from tests.counting import Counting
from tests.decorator_checks import assert_urls_refused

KEY = os.urandom(32)
OLD_KEY = os.urandom(32)
DATA = os.urandom(3 * SEGMENT_SIZE + 1234)  # four segments, the last partial


@pytest.fixture
def manager(tmp_path: Path) -> StorageManager:
    return StorageManager({"disks": {
        "raw": {"driver": "local", "root": str(tmp_path / "root")},
        "enc": {"driver": "encrypted", "disk": "raw", "key": "base64:" + base64.b64encode(KEY).decode()},
    }})


@pytest.fixture
def enc(manager: StorageManager) -> FilesystemAdapter:
    return manager.disk("enc")


@pytest.fixture
def raw(manager: StorageManager) -> FilesystemAdapter:
    return manager.disk("raw")


def _all_reads_fail(enc: FilesystemAdapter, path: str) -> None:
    """get, read_stream, open+seek+read and disk.fs all raise IntegrityError; none hands out bytes."""
    with pytest.raises(IntegrityError):
        enc.get(path)
    with pytest.raises(IntegrityError):
        with enc.read_stream(path) as stream:
            b"".join(stream)
    with pytest.raises(IntegrityError) as caught:
        with enc.open(path) as handle:
            handle.seek(0)
            handle.read()
    assert (caught.value.disk, caught.value.path) == (enc.name, path)  # found mid-read, still named
    with pytest.raises(IntegrityError):
        enc.fs.cat_file(path)
    with pytest.raises(IntegrityError):
        enc.checksum(path)
    with pytest.raises(IntegrityError) as caught:
        enc.copy(path, "copied/" + path)
    assert (caught.value.disk, caught.value.path) == (enc.name, path)
    assert not enc.file_exists("copied/" + path)
    with pytest.raises(IntegrityError):
        enc.move(path, "moved/" + path)
    assert enc.backend.inner.file_exists(path) and not enc.file_exists("moved/" + path)  # type: ignore[attr-defined]


# -- the seed's class and the config ----------------------------------------------------


def test_the_seed_constructor_works_as_written(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path)}}})
    app_config = {"encryption_key": "base64:" + base64.b64encode(KEY).decode()}
    encrypted_disk = EncryptedFilesystemAdapter(base_adapter=manager.disk("local"),
                                                encryption_key=app_config["encryption_key"])
    encrypted_disk.put("secret.txt", b"attack at dawn")
    assert encrypted_disk.get("secret.txt") == b"attack at dawn"
    stored = (tmp_path / "secret.txt").read_bytes()
    assert b"attack" not in stored and stored[:5] == b"FLYE\x01"
    assert len(stored) == ciphertext_size(14) == HEADER_SIZE + 14 + 16


def test_plaintext_never_reaches_the_base_disk(enc: FilesystemAdapter, raw: FilesystemAdapter) -> None:
    secret = b"0123456789abcdef" * 10_000
    enc.put("a.bin", secret)
    enc.put("b.bin", io.BytesIO(secret))
    for path in ("a.bin", "b.bin"):
        stored = raw.get(path)
        assert secret[:16] not in stored
        assert enc.get(path) == secret
    assert raw.get("a.bin")[13:36] != raw.get("b.bin")[13:36]


@pytest.mark.parametrize("size", [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 2 * SEGMENT_SIZE])
def test_sizes_at_segment_boundaries_round_trip(enc: FilesystemAdapter, raw: FilesystemAdapter, size: int) -> None:
    data = os.urandom(size)
    enc.put("f.bin", data)
    assert enc.get("f.bin") == data
    assert raw.size("f.bin") == ciphertext_size(size)
    enc.write_stream("g.bin", iter([data[i:i + 1000] for i in range(0, size, 1000)]))
    assert enc.get("g.bin") == data and enc.size("g.bin") == size


@pytest.mark.parametrize("key", [os.urandom(31), os.urandom(33), "base64:" + base64.b64encode(os.urandom(16)).decode(),
                                 "base64:not*base64!", "short", "", None, 12345],
                         ids=["31-bytes", "33-bytes", "base64-16-bytes", "bad-base64", "short", "empty", "none", "int"])
def test_a_short_or_malformed_key_is_invalid_configuration(tmp_path: Path, key: Any) -> None:
    manager = StorageManager({"disks": {"raw": {"driver": "memory"},
                                        "enc": {"driver": "encrypted", "disk": "raw", "key": key}}})
    with pytest.raises(InvalidConfiguration) as caught:
        manager.disk("enc")
    assert caught.value.disk == "enc"


def test_key_and_keys_together_or_an_empty_list_are_refused() -> None:
    options: dict[str, Any]
    for options in ({"key": KEY, "keys": [KEY]}, {"keys": []}, {"keys": "base64:x"}):
        manager = StorageManager({"disks": {"raw": {"driver": "memory"},
                                            "enc": {"driver": "encrypted", "disk": "raw", **options}}})
        with pytest.raises(InvalidConfiguration):
            manager.disk("enc")


# -- size and checksum --------------------------------------------------------------------


def test_size_is_one_stat_and_no_read() -> None:
    counting = Counting(MemoryBackend())
    base = FilesystemAdapter(counting, name="base")
    enc = EncryptedFilesystemAdapter(base, KEY)
    enc.put("f.bin", DATA)
    counting.counter.clear()
    assert enc.size("f.bin") == len(DATA)
    assert counting.counter == Counter({"stat": 1})
    assert [entry.size for entry in enc.list("")] == [len(DATA)]


def test_checksum_is_of_the_plaintext(enc: FilesystemAdapter) -> None:
    enc.put("f.bin", DATA)
    assert enc.checksum("f.bin") == hashlib.md5(DATA).hexdigest()
    assert enc.checksum("f.bin", "sha256") == hashlib.sha256(DATA).hexdigest()


def test_urls_are_refused_naming_the_reason(enc: FilesystemAdapter) -> None:
    enc.put("f.bin", b"x")
    assert_urls_refused(enc, "f.bin", "encrypted", download="ciphertext", upload="plaintext")


def test_metadata_and_names_stay_plaintext_and_round_trip(enc: FilesystemAdapter, raw: FilesystemAdapter) -> None:
    enc.put("reports/q1.csv", b"a,b", metadata={"owner": "ada", "tags": ["x", "y"]})
    assert enc.metadata("reports/q1.csv")["metadata"] == {"owner": "ada", "tags": ["x", "y"]}
    assert enc.metadata("reports/q1.csv")["size"] == 3
    assert raw.file_exists("reports/q1.csv")
    assert raw.metadata("reports/q1.csv")["metadata"] == {"owner": "ada", "tags": ["x", "y"]}


# -- tampering ------------------------------------------------------------------------------


def _stored(enc: FilesystemAdapter, raw: FilesystemAdapter, path: str = "f.bin", data: bytes = DATA) -> bytes:
    enc.put(path, data)
    return raw.get(path)


@pytest.mark.parametrize("position", [0, 4, 5, 12, 20, 35, HEADER_SIZE, HEADER_SIZE + SEGMENT_SIZE,
                                      HEADER_SIZE + SEALED_SEGMENT - 1, HEADER_SIZE + SEALED_SEGMENT,
                                      HEADER_SIZE + 2 * SEALED_SEGMENT + 7, HEADER_SIZE + 3 * SEALED_SEGMENT + 3, -1])
def test_a_flipped_bit_anywhere_raises(enc: FilesystemAdapter, raw: FilesystemAdapter, position: int) -> None:
    stored = bytearray(_stored(enc, raw))
    stored[position] ^= 0x01
    raw.put("f.bin", bytes(stored))
    _all_reads_fail(enc, "f.bin")


@settings(max_examples=40, deadline=None)
@given(bit=st.integers(min_value=0, max_value=(HEADER_SIZE + 2 * SEALED_SEGMENT + 116) * 8 - 1))
def test_hypothesis_any_flipped_bit_raises(bit: int) -> None:
    base = FilesystemAdapter(MemoryBackend(), name="base")
    enc = EncryptedFilesystemAdapter(base, KEY)
    enc.put("f.bin", DATA[: 2 * SEGMENT_SIZE + 100])
    stored = bytearray(base.get("f.bin"))
    stored[bit // 8] ^= 1 << (bit % 8)
    base.put("f.bin", bytes(stored))
    with pytest.raises(IntegrityError):
        enc.get("f.bin")
    with pytest.raises(IntegrityError):
        with enc.open("f.bin") as handle:
            handle.seek((bit // 8 // SEALED_SEGMENT) * SEGMENT_SIZE)
            handle.read(10)
            handle.seek(0)
            handle.read()


@pytest.mark.parametrize("cut", [HEADER_SIZE + SEALED_SEGMENT, HEADER_SIZE + 2 * SEALED_SEGMENT,
                                 HEADER_SIZE + 3 * SEALED_SEGMENT, HEADER_SIZE + SEALED_SEGMENT + 100,
                                 HEADER_SIZE + 16, HEADER_SIZE + 10, HEADER_SIZE, 10, 0])
def test_truncation_raises(enc: FilesystemAdapter, raw: FilesystemAdapter, cut: int) -> None:
    raw.put("f.bin", _stored(enc, raw)[:cut])
    _all_reads_fail(enc, "f.bin")


@pytest.mark.parametrize("extra", [b"\x00", os.urandom(16), os.urandom(SEALED_SEGMENT)],
                         ids=["one-byte", "16-bytes", "a-segment"])
def test_appended_bytes_raise(enc: FilesystemAdapter, raw: FilesystemAdapter, extra: bytes) -> None:
    raw.put("f.bin", _stored(enc, raw) + extra)
    _all_reads_fail(enc, "f.bin")


def _segments(stored: bytes) -> tuple[bytes, list[bytes]]:
    body = stored[HEADER_SIZE:]
    return stored[:HEADER_SIZE], [body[i:i + SEALED_SEGMENT] for i in range(0, len(body), SEALED_SEGMENT)]


@pytest.mark.parametrize("order", [[0, 2, 3], [0, 1, 1, 3], [1, 0, 2, 3], [0, 2, 1, 3], [0, 1, 2], [0, 1, 2, 2, 3]])
def test_dropped_duplicated_reordered_segments_raise(enc: FilesystemAdapter, raw: FilesystemAdapter,
                                                     order: list[int]) -> None:
    header, segments = _segments(_stored(enc, raw))
    raw.put("f.bin", header + b"".join(segments[i] for i in order))
    _all_reads_fail(enc, "f.bin")


def test_segments_spliced_from_another_file_raise(enc: FilesystemAdapter, raw: FilesystemAdapter) -> None:
    header, segments = _segments(_stored(enc, raw, "f.bin"))
    other_header, other_segments = _segments(_stored(enc, raw, "g.bin"))
    raw.put("f.bin", header + segments[0] + other_segments[1] + segments[2] + segments[3])
    _all_reads_fail(enc, "f.bin")
    raw.put("f.bin", other_header + b"".join(segments))
    _all_reads_fail(enc, "f.bin")


def test_files_swapped_between_paths_raise(enc: FilesystemAdapter, raw: FilesystemAdapter) -> None:
    a, b = _stored(enc, raw, "a.bin", b"A" * 100), _stored(enc, raw, "b.bin", b"B" * 100)
    raw.put("a.bin", b)
    raw.put("b.bin", a)
    _all_reads_fail(enc, "a.bin")
    _all_reads_fail(enc, "b.bin")


@pytest.mark.parametrize("planted", [b"", b"plain text planted by someone", b"FLYE\x01" + os.urandom(200),
                                     b"FLYE\x02" + os.urandom(200)],
                         ids=["empty", "plaintext", "v1-magic-noise", "v2-magic-noise"])
def test_planted_plaintext_or_empty_object_raises(enc: FilesystemAdapter, raw: FilesystemAdapter,
                                                  planted: bytes) -> None:
    raw.put("f.bin", planted)
    _all_reads_fail(enc, "f.bin")
    with pytest.raises(IntegrityError):
        enc.size("f.bin") if len(planted) < HEADER_SIZE + 16 else enc.get("f.bin")


def test_a_wrong_key_raises(raw: FilesystemAdapter, enc: FilesystemAdapter) -> None:
    enc.put("f.bin", DATA)
    other = EncryptedFilesystemAdapter(raw, os.urandom(32), name="other")
    _all_reads_fail(other, "f.bin")


def test_the_stream_stops_at_a_bad_segment(enc: FilesystemAdapter, raw: FilesystemAdapter) -> None:
    stored = bytearray(_stored(enc, raw))
    stored[HEADER_SIZE + SEALED_SEGMENT + 5] ^= 0x80
    raw.put("f.bin", bytes(stored))
    received = bytearray()
    with pytest.raises(IntegrityError), enc.read_stream("f.bin", chunk_size=SEGMENT_SIZE) as stream:
        for chunk in stream:
            received += chunk
    assert bytes(received) == DATA[: len(received)] and len(received) <= SEGMENT_SIZE


# -- copy, move, keys and rotation -----------------------------------------------------------


def test_copy_and_move_reseal_for_the_new_path(enc: FilesystemAdapter, raw: FilesystemAdapter) -> None:
    enc.put("a.bin", DATA, metadata={"k": "v"})
    enc.copy("a.bin", "b.bin")
    enc.move("a.bin", "c/d.bin")
    assert enc.get("b.bin") == DATA == enc.get("c/d.bin")
    assert not enc.file_exists("a.bin")
    assert enc.metadata("c/d.bin")["metadata"] == {"k": "v"}
    assert raw.get("b.bin")[13:36] != raw.get("c/d.bin")[13:36]  # fresh salt and prefix each time
    with pytest.raises(FileNotFound):
        enc.copy("missing.bin", "x.bin")


def test_keys_read_old_files_write_with_the_first_and_rotate(tmp_path: Path) -> None:
    def build(*keys: bytes) -> EncryptedFilesystemAdapter:
        return StorageManager({"disks": {"raw": {"driver": "local", "root": str(tmp_path)},
                                         "enc": {"driver": "encrypted", "disk": "raw", "keys": list(keys)}}}
                              ).disk("enc")  # type: ignore[return-value]

    old = build(OLD_KEY)
    for index in range(3):
        old.put(f"docs/{index}.bin", DATA[: 1000 * (index + 1)])
    old.put("other/x.bin", b"x")
    both = build(KEY, OLD_KEY)
    assert both.get("docs/1.bin") == DATA[:2000]
    both.put("docs/new.bin", b"new")
    with pytest.raises(IntegrityError):
        old.get("docs/new.bin")
    assert both.rotate("docs/0.bin") is True
    assert both.rotate("docs/0.bin") is False
    seen: list[tuple[int, int, str]] = []
    assert both.rotate_all("docs", progress=lambda done, total, path: seen.append((done, total, path))) == 2
    assert [done for done, _, _ in seen] == [1, 2, 3, 4] and {total for _, total, _ in seen} == {4}
    new_only = build(KEY)
    for index in range(3):
        assert new_only.get(f"docs/{index}.bin") == DATA[: 1000 * (index + 1)]
    with pytest.raises(IntegrityError):
        new_only.get("other/x.bin")
    assert both.rotate_all() == 1 and new_only.get("other/x.bin") == b"x"


def test_rotate_of_a_tampered_file_leaves_it_as_it_was(tmp_path: Path) -> None:
    raw = StorageManager({"disks": {"raw": {"driver": "local", "root": str(tmp_path)}}}).disk("raw")
    EncryptedFilesystemAdapter(raw, OLD_KEY).put("f.bin", DATA)
    stored = bytearray(raw.get("f.bin"))
    stored[HEADER_SIZE + 2 * SEALED_SEGMENT + 1] ^= 1
    raw.put("f.bin", bytes(stored))
    with pytest.raises(IntegrityError):
        EncryptedFilesystemAdapter(raw, keys=[KEY, OLD_KEY]).rotate("f.bin")
    assert raw.get("f.bin") == bytes(stored)
    assert sorted(os.listdir(tmp_path)) == ["f.bin"]


# -- ranged reads, disk.fs and pandas ----------------------------------------------------------


def test_a_ranged_read_touches_only_its_segments() -> None:
    counting = Counting(MemoryBackend())
    enc = EncryptedFilesystemAdapter(FilesystemAdapter(counting, name="base"), KEY)
    data = os.urandom(40 * SEGMENT_SIZE)
    enc.put("f.bin", data)
    counting.counter.clear()
    with enc.open("f.bin") as handle:
        handle.seek(30 * SEGMENT_SIZE + 10)
        assert handle.read(SEGMENT_SIZE) == data[30 * SEGMENT_SIZE + 10: 31 * SEGMENT_SIZE + 10]
    # header, the last segment (checked at open) and the two segments the range spans
    assert counting.counter["bytes"] == HEADER_SIZE + 3 * SEALED_SEGMENT
    counting.counter.clear()
    assert enc.fs.cat_file("f.bin", start=5 * SEGMENT_SIZE, end=5 * SEGMENT_SIZE + 100) == \
        data[5 * SEGMENT_SIZE: 5 * SEGMENT_SIZE + 100]
    assert counting.counter["bytes"] <= HEADER_SIZE + 4 * SEALED_SEGMENT


def test_pandas_reads_parquet_through_disk_fs_with_random_access(enc: FilesystemAdapter) -> None:
    import pandas  # type: ignore[import-untyped]  # test dependencies: missing fails, never skips
    import pyarrow  # type: ignore[import-untyped]  # noqa: F401  # pandas' parquet engine
    frame = pandas.DataFrame({"n": range(50_000), "s": [f"row {i}" for i in range(50_000)]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, row_group_size=10_000)
    enc.put("tables/t.parquet", buffer.getvalue())
    back = pandas.read_parquet("tables/t.parquet", filesystem=enc.fs)
    assert back.equals(frame)
    some = pandas.read_parquet("tables/t.parquet", filesystem=enc.fs, columns=["n"])
    assert some["n"].sum() == sum(range(50_000))


# -- big files (slow) ----------------------------------------------------------------------------


def _zeros(total: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    block = bytes(chunk)
    for _ in range(total // chunk):
        yield block


@pytest.mark.slow
def test_256_mib_through_put_and_read_stream_stays_under_32_mib(enc: FilesystemAdapter) -> None:
    total = 256 * 1024 * 1024
    tracemalloc.start()
    try:
        enc.put("big.bin", _zeros(total))
        seen = 0
        with enc.read_stream("big.bin", chunk_size=1024 * 1024) as stream:
            for chunk in stream:
                seen += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == total == enc.size("big.bin")
    assert peak < 32 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.slow
def test_1_mib_at_900_mib_of_a_1_gib_file_reads_about_1_mib(tmp_path: Path) -> None:
    from flystore.drivers.local import LocalFilesystemAdapter

    local = LocalFilesystemAdapter(str(tmp_path))
    counting = Counting(local.backend)
    enc = EncryptedFilesystemAdapter(FilesystemAdapter(counting, name="base"), KEY)
    enc.put("big.bin", _zeros(1024 * 1024 * 1024))
    counting.counter.clear()
    offset = 900 * 1024 * 1024
    with enc.open("big.bin") as handle:
        handle.seek(offset)
        assert handle.read(1024 * 1024) == bytes(1024 * 1024)
    read = counting.counter["bytes"]
    assert 1024 * 1024 <= read <= 1024 * 1024 + 2 * SEALED_SEGMENT + HEADER_SIZE + 16 * 17, read
    counting.counter.clear()
    assert enc.fs.cat_file("big.bin", start=offset, end=offset + 1024 * 1024) == bytes(1024 * 1024)
    assert counting.counter["bytes"] <= 1024 * 1024 + 3 * SEALED_SEGMENT + HEADER_SIZE + 16 * 17


def test_without_cryptography_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from flystore import DriverNotInstalled

    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None)
    manager = StorageManager({"disks": {"m": {"driver": "memory"},
                                        "e": {"driver": "encrypted", "disk": "m", "key": KEY}}})
    with pytest.raises(DriverNotInstalled, match=r'pip install "flystore\[crypto\]"'):
        manager.disk("e")


def test_a_file_written_in_format_1_stays_readable() -> None:
    """Ciphertext of b"format one" at "pinned.txt" under key bytes(range(32)), salt and prefix all zero,
    made once: a change of the format that breaks old files fails here."""
    base = FilesystemAdapter(MemoryBackend(), name="base")
    enc = EncryptedFilesystemAdapter(base, bytes(range(32)))
    base.put("pinned.txt", bytes.fromhex(PINNED))
    assert enc.get("pinned.txt") == b"format one"
    base.put("moved.txt", bytes.fromhex(PINNED))
    with pytest.raises(IntegrityError):
        enc.get("moved.txt")


PINNED = (
    "464c5945015e80f64c711a3a310000000000000000000000000000000000"
    "000000000000b3ba6004e68c90fd9c3f56a76c18c2775f65ca2547e4474ebb8e"
)
