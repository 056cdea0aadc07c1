"""Benchmark the storage browser (``flystore serve``) over real HTTP against the disk calls underneath.

A standalone script, not a test. It serves a local disk with uvicorn on 127.0.0.1 (a thread of this
process) and measures, with one keep-alive HTTP connection:

- a 10,000-file folder: the first page (the folder is listed from the disk), the following pages,
  a first page in another order, a name filter and a subfolder search, against ``disk.list(folder)`` (the one
  backend listing) and ``os.scandir`` + ``stat`` (the floor), and the bytes a page sends against a
  whole listing as JSON;
- a 64 MiB upload through ``POST /api/upload`` (streamed through the upload rules, written atomically)
  against a plain Starlette endpoint on the same server stack that only writes the body to a file,
  and the download through ``GET /api/file`` (Range-capable, streamed from the disk) against
  Starlette's ``FileResponse``; ``disk.write_stream``/``read_stream`` without HTTP are shown too.

It prints the median of ``--repeats`` runs and the ratios, with the targets: the first page within
1.5x of ``disk.list``, a following page under a tenth of it, the upload within 2x and the download
within 1.5x of the plain endpoints' time.

Run: ``python benchmarks/bench_web.py [--files 10000] [--upload-mib 64] [--repeats 5] [--tmpdir DIR]``.
Needs ``flystore[web]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flystore import StorageManager  # after the checkout is on the path
from flystore.web import create_app
from flystore.web.server import WebServer

TOKEN = "benchmark-token-0123456789"


def median_seconds(action: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Client:
    """One keep-alive connection with the Bearer token."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {"Authorization": f"Bearer {TOKEN}"}

    def get(self, url: str) -> bytes:
        self.connection.request("GET", url, headers=self.headers)
        answer = self.connection.getresponse()
        body = answer.read()
        assert answer.status == 200, (answer.status, body[:200])
        return body

    def download(self, url: str, chunk: int = 1024 * 1024) -> int:
        self.connection.request("GET", url, headers=self.headers)
        answer = self.connection.getresponse()
        assert answer.status == 200
        total = 0
        while block := answer.read(chunk):
            total += len(block)
        return total

    def upload(self, url: str, path: Path) -> None:
        with path.open("rb") as body:
            headers = {**self.headers, "Content-Length": str(path.stat().st_size)}
            self.connection.request("POST", url, body=body, headers=headers)
        answer = self.connection.getresponse()
        answer.read()
        assert answer.status == 201, answer.status


def plain_starlette(folder: Path, served: Path) -> Any:
    """The floor: an upload endpoint that only writes the body to a file, and Starlette's FileResponse."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, Response
    from starlette.routing import Route

    folder.mkdir()

    async def upload(request: Request) -> Response:
        with (folder / request.path_params["name"]).open("wb") as handle:
            async for chunk in request.stream():
                handle.write(chunk)
        return Response(status_code=201)

    async def file(request: Request) -> Response:
        return FileResponse(served)

    return Starlette(routes=[Route("/upload/{name}", upload, methods=["POST"]), Route("/file", file)])


def scandir_floor(folder: Path) -> int:
    count = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            entry.stat(follow_symlinks=False)
            count += 1
    return count


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--upload-mib", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tmpdir", default=None)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=options.tmpdir) as scratch:
        root = Path(scratch) / "root"
        folder = root / "big"
        folder.mkdir(parents=True)
        for number in range(options.files):
            (folder / f"file-{number:05}.txt").write_bytes(b"x" * (number % 997))
        manager = StorageManager({"disks": {"local": {"driver": "local", "root": str(root)}}})
        disk = manager.disk("local")
        server = WebServer(create_app(manager, token=TOKEN), port=0).start()
        client = Client(server.port)
        try:
            base = "/api/list?disk=local&path=big&limit=100"
            floor = median_seconds(lambda: scandir_floor(folder), options.repeats)
            listing = median_seconds(lambda: disk.list("big"), options.repeats)
            first = median_seconds(lambda: client.get(base + "&fresh=1"), options.repeats)
            offsets = iter(range(100, 10**9, 100))
            following = median_seconds(
                lambda: client.get(f"{base}&offset={next(offsets) % options.files}"), options.repeats * 4
            )
            orders = iter(["size", "modified", "name"] * options.repeats)
            resort = median_seconds(
                lambda: client.get(f"{base}&fresh=1&sort={next(orders)}&order=desc"), options.repeats
            )
            filtered = median_seconds(lambda: client.get(base + "&q=file-0999"), options.repeats)
            search = median_seconds(lambda: client.get("/api/search?disk=local&q=file-0999"), options.repeats)
            page_bytes = len(client.get(base))
            whole = client.get(f"{base.replace('limit=100', 'limit=1000')}")
            row_bytes = len(json.dumps(json.loads(whole)["entries"][0])) + 2
            print(f"folder of {options.files:,} files (local disk, median of {options.repeats})")
            print(f"  os.scandir + stat floor      {floor * 1000:8.1f} ms")
            print(f"  disk.list(folder)            {listing * 1000:8.1f} ms")
            print(
                f"  first page (lists the disk)  {first * 1000:8.1f} ms   {first / listing:5.2f}x disk.list  "
                f"target <= 1.5x  {verdict(first <= 1.5 * listing)}"
            )
            print(
                f"  a following page             {following * 1000:8.1f} ms   {following / listing:5.2f}x disk.list  "
                f"target <= 0.1x  {verdict(following <= 0.1 * listing)}"
            )
            print(f"  first page, another order    {resort * 1000:8.1f} ms")
            print(f"  name filter, same folder     {filtered * 1000:8.1f} ms")
            print(f"  search in subfolders         {search * 1000:8.1f} ms")
            print(f"  bytes: a page {page_bytes:,}; the whole folder as JSON ~{row_bytes * options.files:,}")

            size = options.upload_mib * 1024 * 1024
            source = Path(scratch) / "upload.bin"
            with source.open("wb") as handle:
                for _ in range(options.upload_mib):
                    # No "<": the upload rules refuse markup such as "<%" that random bytes hold by chance.
                    handle.write(os.urandom(1024 * 1024).replace(b"<", b">"))
            counter = iter(range(10**9))

            def direct_put() -> None:
                with source.open("rb") as handle:
                    disk.write_stream(f"direct/{next(counter)}.bin", handle)

            def http_put() -> None:
                client.upload(f"/api/upload?disk=local&folder=web&name={next(counter)}.bin", source)

            def direct_get() -> None:
                with disk.read_stream("direct/0.bin") as stream:
                    for _ in stream:
                        pass

            repeats = max(options.repeats // 2, 2)
            raw_server = WebServer(plain_starlette(Path(scratch) / "raw", source), port=0).start()
            raw = Client(raw_server.port)
            try:
                put_disk = median_seconds(direct_put, repeats)
                put_raw = median_seconds(lambda: raw.upload(f"/upload/{next(counter)}", source), repeats)
                put_web = median_seconds(http_put, repeats)
                get_disk = median_seconds(direct_get, repeats)
                get_raw = median_seconds(lambda: raw.download("/file"), repeats)
                get_web = median_seconds(lambda: client.download("/api/file?disk=local&path=direct/0.bin"), repeats)
            finally:
                raw.connection.close()
                raw_server.stop()
            mib = options.upload_mib
            print(f"{mib} MiB file (median of {repeats}; the plain Starlette endpoints are the HTTP floor)")
            print(f"  disk.write_stream (no HTTP)       {mib / put_disk:7.0f} MiB/s")
            print(f"  plain Starlette, body to a file   {mib / put_raw:7.0f} MiB/s")
            print(
                f"  POST /api/upload                  {mib / put_web:7.0f} MiB/s   {put_web / put_raw:5.2f}x the plain "
                f"endpoint's time  target <= 2x  {verdict(put_web <= 2 * put_raw)}"
            )
            print(f"  disk.read_stream (no HTTP)        {mib / get_disk:7.0f} MiB/s")
            print(f"  plain Starlette FileResponse      {mib / get_raw:7.0f} MiB/s")
            print(
                f"  GET /api/file                     {mib / get_web:7.0f} MiB/s   {get_web / get_raw:5.2f}x the plain "
                f"endpoint's time  target <= 1.5x  {verdict(get_web <= 1.5 * get_raw)}"
            )
            assert size == source.stat().st_size
        finally:
            client.connection.close()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
