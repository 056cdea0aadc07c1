"""``flystore demo``: the main job on the embedded default configuration, step by step."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from .manager import StorageManager
from .signing import verify_temporary_url

__all__ = ["run_demo"]


def run_demo(out: TextIO = sys.stdout, manager: StorageManager | None = None) -> int:
    """Write, list, read, sign a URL and use the fake on the default (local) disk; returns 0."""
    storage = manager or StorageManager()
    if storage.app_key is None:
        storage.app_key = "base64:" + __import__("base64").b64encode(os.urandom(32)).decode()
        print("APP_KEY is not set: using a random key for this run", file=out)
    disk = storage.disk()
    print(f"default disk: {disk.name!r} ({disk.backend.name}) at {disk.path('')}", file=out)

    disk.put("demo/hello.txt", "Hello from flystore!")
    disk.append("demo/hello.txt", "A second line, appended atomically.")
    disk.put_json("demo/settings.json", {"theme": "dark", "items": 3})
    print("wrote:", ", ".join(disk.all_files("demo")), file=out)
    print("directories:", disk.directories(), file=out)
    print("read back:", disk.get_text("demo/hello.txt").splitlines(), file=out)
    print(f"size {disk.size('demo/hello.txt')} B, md5 {disk.checksum('demo/hello.txt')}, "
          f"mime {disk.mime_type('demo/settings.json')}", file=out)

    link = disk.temporary_url("demo/hello.txt", expires=600)
    target = verify_temporary_url(link, manager=storage)
    print(f"signed URL: {link}", file=out)
    print(f"verified: grants {target.method} on {target.disk}://{target.path} until {target.expires_at:%H:%M:%S} UTC",
          file=out)

    fake = storage.fake(disk.name)
    fake.put("demo/in-the-fake.txt", "never touches the real disk")
    fake.assert_exists("demo/in-the-fake.txt", "never touches the real disk").assert_count("demo", 1)
    print("fake disk holds:", fake.all_files(), file=out)
    storage.restore()
    print("real disk untouched:", disk.file_missing("demo/in-the-fake.txt"), file=out)
    return 0
