"""The encrypted disk against raw AES-GCM, and a ranged read deep in a big file.

    python benchmarks/bench_encrypted.py              # 1 GiB (needs ~3 GiB free in the temp dir)
    python benchmarks/bench_encrypted.py --mib 128    # a quicker run

Measures, in one run each:
- encrypted ``put`` of a local file to a local encrypted disk, and ``read_stream`` of it into
  /dev/null, against the floor: ``readinto`` a reused 64 KiB buffer + AESGCM encrypt/decrypt of
  each segment written to /dev/null (target: flystore >= 0.7x the floor's throughput);
- 1 MiB read at offset 900 MiB through ``open().seek()``: bytes read from the base disk and time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from flystore import EncryptedFilesystemAdapter, FilesystemAdapter, LocalFilesystemAdapter
from flystore.decorators.encrypted.format import HEADER_SIZE, SEALED_SEGMENT, SEGMENT_SIZE
from flystore.decorators.encrypted.streams import EncryptingReader
from tests.counting import Counting

MIB = 1024 * 1024


def _floor_encrypt(source: Path, key: bytes) -> float:
    aead, buffer = AESGCM(key), bytearray(SEGMENT_SIZE)
    view, nonce, aad = memoryview(buffer), os.urandom(12), b"x" * 48
    started = time.perf_counter()
    with open(source, "rb", buffering=0) as handle, open(os.devnull, "wb") as sink:
        while count := handle.readinto(buffer):
            sink.write(aead.encrypt(nonce, view[:count], aad))
    return time.perf_counter() - started


def _floor_decrypt(sealed: Path, key: bytes) -> float:
    """The floor for reading: readinto + AESGCM decrypt of each sealed segment (a real ciphertext)."""
    aead, buffer = AESGCM(key), bytearray(SEALED_SEGMENT)
    nonce, aad = os.urandom(12), b"x" * 48
    plain = bytes(SEGMENT_SIZE)
    token = aead.encrypt(nonce, plain, aad)
    started = time.perf_counter()
    with open(sealed, "rb", buffering=0) as handle, open(os.devnull, "wb") as sink:
        handle.seek(HEADER_SIZE)
        while handle.readinto(buffer):
            # Same work as the disk: one authenticated decryption per segment (of a known-good token
            # of the same length, since the file's own segments need the file's key and nonces).
            sink.write(aead.decrypt(nonce, token, aad))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--tmpdir", default=None)
    args = parser.parse_args(argv)
    size: int = args.mib * MIB
    offset = min(900 * MIB, size - MIB)
    key = os.urandom(32)
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        root = Path(tmp)
        source = root / "plain.bin"
        with open(source, "wb") as out:
            block = os.urandom(MIB)
            for _ in range(args.mib):
                out.write(block)
        base = LocalFilesystemAdapter(str(root / "disk"))
        counting = Counting(base.backend)
        disk = EncryptedFilesystemAdapter(FilesystemAdapter(counting, name="base"), key)

        floor_put = _floor_encrypt(source, key)
        started = time.perf_counter()
        with open(source, "rb") as handle:
            disk.put("big.bin", handle)
        put_time = time.perf_counter() - started

        started = time.perf_counter()
        with open(source, "rb") as handle:
            base.put("plain-copy.bin", handle)
        plain_put = time.perf_counter() - started
        base.delete("plain-copy.bin")

        # The encrypted put's own work without the disk write: its sealing stream into /dev/null.
        cipher = disk.backend.keys.new_cipher("big.bin")  # type: ignore[attr-defined]
        started = time.perf_counter()
        with open(source, "rb") as handle, open(os.devnull, "wb") as sink:
            reader = EncryptingReader(cipher, handle)
            while chunk := reader.read(MIB):
                sink.write(chunk)
        seal_only = time.perf_counter() - started

        sealed = Path(base.path("big.bin"))
        floor_read = _floor_decrypt(sealed, key)
        started = time.perf_counter()
        with disk.read_stream("big.bin", chunk_size=MIB) as stream, open(os.devnull, "wb") as sink:
            for chunk in stream:
                sink.write(chunk)
        read_time = time.perf_counter() - started

        counting.counter.clear()
        started = time.perf_counter()
        with disk.open("big.bin") as ranged:
            ranged.seek(offset)
            assert len(ranged.read(MIB)) == MIB
        ranged_time = time.perf_counter() - started
        ranged_bytes = counting.counter["bytes"]

    def rate(seconds: float) -> float:
        return size / MIB / seconds

    results: list[tuple[str, Any]] = [
        ("floor encrypt (readinto + AESGCM -> /dev/null)", f"{rate(floor_put):8.0f} MiB/s"),
        ("encrypted put (local file -> local disk)", f"{rate(put_time):8.0f} MiB/s"),
        ("  put ratio (target >= 0.7x)", f"{floor_put / put_time:8.2f}x"),
        ("plain (unencrypted) local put, for reference", f"{rate(plain_put):8.0f} MiB/s"),
        ("  encrypted put / plain put", f"{plain_put / put_time:8.2f}x"),
        ("encrypted put's sealing stream alone (-> /dev/null)", f"{rate(seal_only):8.0f} MiB/s"),
        ("  sealing ratio vs floor (target >= 0.7x)", f"{floor_put / seal_only:8.2f}x"),
        ("floor decrypt (readinto + AESGCM -> /dev/null)", f"{rate(floor_read):8.0f} MiB/s"),
        ("encrypted read_stream (-> /dev/null)", f"{rate(read_time):8.0f} MiB/s"),
        ("  read ratio (target >= 0.7x)", f"{floor_read / read_time:8.2f}x"),
        (f"1 MiB at {offset // MIB} MiB: bytes read from base", f"{ranged_bytes:8d} ({ranged_bytes / MIB:.3f} MiB)"),
        (f"1 MiB at {offset // MIB} MiB: time", f"{ranged_time * 1000:8.1f} ms"),
    ]
    print(f"encrypted disk, {args.mib} MiB file, segments of {SEGMENT_SIZE // 1024} KiB")
    for label, value in results:
        print(f"  {label:<52} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
