"""The ``flystore`` command line, in-process through click's CliRunner, on local and memory disks."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flystore import StorageManager
from flystore.cli.app import COMMANDS, cli
from flystore.config import load_config_file

KEY = "base64:" + base64.b64encode(b"k" * 32).decode()


def write_config(tmp_path: Path, extra: str = "") -> Path:
    """A FILESYSTEMS file with two local disks, a public one, memory, read-only and scoped disks."""
    config = tmp_path / "filesystems.py"
    config.write_text(textwrap.dedent(f"""\
        FILESYSTEMS = {{
            "default": "local",
            "disks": {{
                "local": {{"driver": "local", "root": {str(tmp_path / "a")!r}}},
                "other": {{"driver": "local", "root": {str(tmp_path / "b")!r}}},
                "public": {{"driver": "local", "root": {str(tmp_path / "pub")!r}, "url": "/storage",
                            "visibility": "public"}},
                "mem": {{"driver": "memory"}},
                "ro": {{"driver": "read_only", "disk": "local"}},
                "scoped": {{"driver": "scoped", "disk": "local", "prefix": "jail"}},
                {extra}
            }},
        }}
    """))
    return config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def manager(config: Path, monkeypatch: pytest.MonkeyPatch) -> StorageManager:
    monkeypatch.setenv("APP_KEY", KEY)
    return StorageManager(load_config_file(config))


class Cli:
    """Runs ``flystore ARGS`` in-process against one manager (so memory disks keep their files)."""

    def __init__(self, manager: StorageManager) -> None:
        self.manager = manager
        self.runner = CliRunner()

    def __call__(self, *args: str, input: bytes | str | None = None) -> Result:
        return self.runner.invoke(cli, list(args), obj=self.manager, input=input, catch_exceptions=False)


@pytest.fixture
def run(manager: StorageManager) -> Cli:
    return Cli(manager)


def one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


# -- listing, reading, inspecting ---------------------------------------------------------------


def test_ls_lists_directories_with_a_slash_then_files_long_and_as_json(run: Cli, manager: StorageManager) -> None:
    disk = manager.disk("local")
    disk.put("docs/a.txt", "alpha")
    disk.put("docs/sub/b.txt", "bb")
    disk.put("top.txt", "t")
    assert run("ls").stdout.splitlines() == ["docs/", "top.txt"]
    assert run("ls", "local://docs").stdout.splitlines() == ["docs/a.txt", "docs/sub/"]
    assert run("ls", "-r", "local://docs").stdout.splitlines() == ["docs/a.txt", "docs/sub/", "docs/sub/b.txt"]
    long = run("ls", "-l", "local://docs").stdout.splitlines()
    assert re.match(r"^\s+5 B  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  docs/a\.txt$", long[0])
    entries = json.loads(run("ls", "--json", "local://docs").stdout)
    assert entries[0]["path"] == "docs/a.txt" and entries[0]["type"] == "file" and entries[0]["size"] == 5
    assert entries[1] == {**entries[1], "path": "docs/sub", "type": "directory", "size": None}
    assert run("ls", "local://docs/a.txt").stdout.splitlines() == ["docs/a.txt"]


def test_a_missing_location_exits_3_and_a_local_path_where_a_disk_is_needed_exits_2(run: Cli) -> None:
    missing = run("ls", "local://nowhere")
    assert missing.exit_code == 3
    assert "nowhere" in one_error_line(missing) and "'local'" in missing.stderr
    assert run("cat", "local://nope.txt").exit_code == 3
    assert run("info", "mem://nope.txt").exit_code == 3
    plain = run("ls", "docs")
    assert plain.exit_code == 2
    assert "local://docs" in plain.stderr  # says how to name a disk location
    unknown = run("ls", "nosuchdisk://x")
    assert unknown.exit_code == 2
    assert "nosuchdisk" in one_error_line(unknown) and "local" in unknown.stderr


def test_cat_streams_several_files_byte_for_byte(run: Cli, manager: StorageManager) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 7)  # several read chunks
    manager.disk("mem").put("blob.bin", payload)
    manager.disk("mem").put("tail.txt", b"-end")
    result = run("cat", "mem://blob.bin", "mem://tail.txt")
    assert result.exit_code == 0
    assert result.stdout_bytes == payload + b"-end"


def test_info_shows_file_metadata_and_a_disks_settings(run: Cli, manager: StorageManager) -> None:
    manager.disk("local").put("docs/a.txt", "alpha", metadata={"owner": "ada"})
    details = json.loads(run("info", "local://docs/a.txt", "--json", "--checksum").stdout)
    assert details["type"] == "file" and details["size"] == 5 and details["mime_type"] == "text/plain"
    assert details["metadata"] == {"owner": "ada"}
    assert details["md5"] == "2c1743a391305fbf367df8e4f069f9f9"
    assert json.loads(run("info", "local://docs", "--json").stdout)["type"] == "directory"
    text = run("info", "local://docs/a.txt").stdout
    assert "size:" in text and "5 B" in text
    disk = json.loads(run("info", "public://", "--json").stdout)
    assert disk == {**disk, "name": "public", "driver": "local", "url": "/storage", "default": False}
    every = json.loads(run("info", "--json").stdout)
    assert [entry["name"] for entry in every] == ["local", "other", "public", "mem", "ro", "scoped"]
    assert every[4]["disk"] == "local"  # the read-only disk's own 'disk' option


def test_info_and_disks_never_print_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLI_TEST_SECRET", "from-the-environment-0xC0FFEE-long-enough-for-a-key")
    config = write_config(tmp_path, extra="""
        "s3": {"driver": "s3", "bucket": "b", "key": "AKIA-LITERAL-KEY", "secret": "literal-secret-0xBEEF",
               "endpoint": "http://127.0.0.1:1"},
        "dav": {"driver": "webdav", "base_url": "http://u:literal-url-password@127.0.0.1:1/", "username": "u",
                "password": "literal-password-0xF00D"},
        "az": {"driver": "azure", "connection_string": "AccountKey=literal-account-key-0xABCD;",
               "container": "c"},
        "enc": {"driver": "encrypted", "disk": {"driver": "memory"}, "key": "base64:literal-key-0x1234"},
        "sig": {"driver": "memory", "signing_key": __import__("flystore").env("CLI_TEST_SECRET")},
        "gcs": {"driver": "gcs", "bucket": "b", "token": {"type": "service_account",
                                                          "private_key_id": "literal-key-id-0x77"}},
        "wrapped": {"driver": "scoped", "prefix": "p",
                    "disk": {"driver": "s3", "bucket": "b", "secret": "literal-secret-inner-0x99"}},
    """)
    run = Cli(StorageManager(load_config_file(config)))
    outputs = [run("info").stdout, run("info", "--json").stdout, run("disks", "--json").stdout,
               run("info", "s3://").stdout, run("info", "enc://", "--json").stdout, run("info", "sig://").stdout]
    everything = "\n".join(outputs)
    outputs += [run("info", "gcs://", "--json").stdout, run("info", "wrapped://").stdout]
    everything = "\n".join(outputs)
    for secret in ("AKIA-LITERAL-KEY", "literal-secret", "literal-password", "literal-account-key", "literal-key",
                   "from-the-environment", "literal-key-id", "literal-secret-inner", "literal-url-password"):
        assert secret not in everything
    assert "***" in outputs[3] and "http://***@127.0.0.1:1/" in outputs[0]
    assert "env(CLI_TEST_SECRET)" in outputs[5]  # which variable, never its value
    assert json.loads(outputs[1])[6]["endpoint"] == "http://127.0.0.1:1"  # not a secret: shown


def test_url_and_temp_url(run: Cli, manager: StorageManager) -> None:
    from flystore import verify_temporary_url

    manager.disk("public").put("avatars/1.png", b"png")
    assert run("url", "public://avatars/1.png").stdout.strip() == "/storage/avatars/1.png"
    link = run("temp-url", "public://avatars/1.png", "--expires", "15m").stdout.strip()
    target = verify_temporary_url(link, manager=manager)
    assert (target.disk, target.path, target.method) == ("public", "avatars/1.png", "GET")
    upload = run("temp-url", "--upload", "public://incoming/x.bin").stdout.strip()
    assert verify_temporary_url(upload, manager=manager, method="PUT").path == "incoming/x.bin"
    no_url = run("url", "mem://a.txt")
    assert no_url.exit_code == 1 and "public URL" in one_error_line(no_url)
    assert run("temp-url", "public://avatars/1.png", "--expires", "soon").exit_code == 2
    assert run("temp-url", "public://missing.png").exit_code == 3


def test_usage_counts_files_bytes_histogram_and_top_level_directories(run: Cli, manager: StorageManager) -> None:
    disk = manager.disk("mem")
    disk.put("root.txt", b"")  # 0 B
    disk.put("photos/a.jpg", b"x" * 2048)  # 1-10 KiB
    disk.put("photos/2024/b.jpg", b"x" * 20_000)  # 10-100 KiB
    disk.put("docs/c.txt", b"x" * 10)  # < 1 KiB
    result = run("usage", "mem://", "--json")
    assert result.exit_code == 0
    (found,) = json.loads(result.stdout)
    assert (found["disk"], found["files"], found["bytes"]) == ("mem", 4, 22_058)
    histogram = {bucket["bucket"]: bucket["files"] for bucket in found["histogram"]}
    assert histogram == {**histogram, "0 B": 1, "< 1 KiB": 1, "1-10 KiB": 1, "10-100 KiB": 1, ">= 1 GiB": 0}
    assert [(entry["name"], entry["files"], entry["bytes"]) for entry in found["directories"]] == [
        ("photos", 2, 22_048), ("docs", 1, 10), (".", 1, 0)]
    photos = {bucket["bucket"]: bucket["files"] for bucket in found["directories"][0]["histogram"]}
    assert photos == {**photos, "1-10 KiB": 1, "10-100 KiB": 1, "< 1 KiB": 0, "0 B": 0}
    (below,) = json.loads(run("usage", "mem://photos", "--json").stdout)
    assert below["files"] == 2 and below["directories"][0]["name"] == "2024"
    text = run("usage", "mem://").stdout
    assert "mem://: 4 files, 21.5 KiB" in text
    assert re.search(r"^photos\s+2\s+21\.5 KiB\s+1-10K:1 10-100K:1$", text, re.MULTILINE), text
    assert run("usage", "mem://nowhere").exit_code == 3
    partly = run("usage", "mem://nowhere", "mem://docs", "--json")  # a failing target hides no other
    assert partly.exit_code == 3 and "nowhere" in one_error_line(partly)
    assert [(found["path"], found["files"]) for found in json.loads(partly.stdout)] == [("docs", 1)]


def huge_listing(count: int) -> StorageManager:
    """A manager with disk ``huge``: a driver whose listing yields ``count`` files lazily, never stored."""
    from collections.abc import Iterator
    from datetime import datetime, timezone

    from flystore.attributes import FileAttributes
    from flystore.drivers.memory import MemoryBackend

    when = datetime(2026, 1, 1, tzinfo=timezone.utc)

    class HugeListing(MemoryBackend):
        def list_contents(self, path: str, deep: bool) -> Iterator[Any]:
            for number in range(count):
                yield FileAttributes(f"dir{number % 7}/f{number}.bin", size=number % 5000, last_modified=when)

    manager = StorageManager({"disks": {"huge": {"driver": "huge"}}})
    manager.extend("huge", lambda options, owner: HugeListing())
    return manager


def test_usage_streams_the_listing_in_bounded_memory() -> None:
    """20,000 files listed lazily: usage holds per-directory totals, never the entries."""
    import tracemalloc

    from flystore.cli._usage import measure

    disk = huge_listing(20_000).disk("huge")
    tracemalloc.start()
    try:
        found = measure(disk, "")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found.total.files == 20_000
    assert sorted(found.directories) == [f"dir{number}" for number in range(7)]
    assert peak < 1024 * 1024  # the 20,000 entries alone would take ~7 MiB


def test_ls_unsorted_streams_as_it_lists() -> None:
    import tracemalloc

    run = Cli(huge_listing(20_000))
    tracemalloc.start()
    try:
        result = run("ls", "-U", "-r", "-l", "huge://")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    lines = result.stdout.splitlines()
    assert len(lines) == 20_000 and lines[1].endswith("dir1/f1.bin") and "1 B" in lines[1]
    assert peak < 4 * 1024 * 1024  # the printed text (~1.2 MB) and little else; a sorted list is ~7 MiB more
    streamed = json.loads(Cli(huge_listing(3))("ls", "-U", "-r", "--json", "huge://").stdout)
    assert [entry["path"] for entry in streamed] == ["dir0/f0.bin", "dir1/f1.bin", "dir2/f2.bin"]
    assert json.loads(Cli(huge_listing(0))("ls", "-U", "--json", "huge://").stdout) == []


def test_disks_keeps_its_format_and_has_json(run: Cli) -> None:
    assert run("disks").stdout.splitlines()[:3] == ["* local: local", "  other: local", "  public: local"]
    assert json.loads(run("disks", "--json").stdout)[0] == {"name": "local", "driver": "local", "default": True}


# -- writing: put, get, cp, mv, rm --------------------------------------------------------------


def test_put_get_round_trip_keeping_names_and_streams_from_stdin(run: Cli, manager: StorageManager,
                                                                 tmp_path: Path) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(b"%PDF-1.7 report")
    assert run("put", str(source), "local://reports/").stdout.strip() == (
        f"copied {source} -> local://reports/report.pdf (15 B)")
    assert manager.disk("local").get("reports/report.pdf") == b"%PDF-1.7 report"
    assert run("put", "-", "mem://in/stdin.bin", input=b"from stdin").exit_code == 0
    assert manager.disk("mem").get("in/stdin.bin") == b"from stdin"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    assert run("get", "local://reports/report.pdf", str(downloads)).exit_code == 0
    assert (downloads / "report.pdf").read_bytes() == b"%PDF-1.7 report"
    umask = os.umask(0o022)
    os.umask(umask)
    assert (downloads / "report.pdf").stat().st_mode & 0o777 == 0o666 & ~umask  # a new file: the umask's mode
    (downloads / "report.pdf").chmod(0o600)
    assert run("get", "local://reports/report.pdf", str(downloads / "report.pdf")).exit_code == 0
    assert (downloads / "report.pdf").stat().st_mode & 0o777 == 0o600  # a replaced file keeps its mode
    assert os.listdir(downloads) == ["report.pdf"]
    assert run("get", "mem://in/stdin.bin", "-").stdout_bytes == b"from stdin"
    assert run("put", "local://reports/report.pdf", "mem://x").exit_code == 2  # put takes a local file
    assert run("get", str(source), "x").exit_code == 2  # get takes a disk location
    assert run("put", str(tmp_path / "missing.pdf"), "mem://x").exit_code == 3


def test_cp_and_mv_across_disks_local_and_back(run: Cli, manager: StorageManager, tmp_path: Path) -> None:
    local, other, mem = manager.disk("local"), manager.disk("other"), manager.disk("mem")
    payload = os.urandom(2 * 1024 * 1024 + 3)
    local.put("data/blob.bin", payload)
    assert run("cp", "local://data/blob.bin", "other://copies/").exit_code == 0
    assert other.get("copies/blob.bin") == payload
    assert run("cp", "local://data/blob.bin", "local://data/again.bin").exit_code == 0  # same disk
    assert run("mv", "other://copies/blob.bin", "mem://moved.bin").exit_code == 0
    assert mem.get("moved.bin") == payload and other.file_missing("copies/blob.bin")
    target = tmp_path / "out.bin"
    assert run("mv", "mem://moved.bin", str(target)).exit_code == 0
    assert target.read_bytes() == payload and mem.file_missing("moved.bin")
    assert run("mv", str(target), "local://back.bin", "--visibility", "private").exit_code == 0
    assert not target.exists() and local.get_visibility("back.bin") == "private"
    assert run("cp", "local://data", "mem://x").exit_code == 2  # a directory: sync does trees
    plain = tmp_path / "plain.bin"
    assert run("cp", str(tmp_path / "out.bin.missing"), str(plain)).exit_code == 3
    local.put("p.bin", b"plain")
    assert run("get", "local://p.bin", str(plain)).exit_code == 0
    assert run("cp", str(plain), str(tmp_path / "plain-copy.bin")).exit_code == 0  # local to local
    assert (tmp_path / "plain-copy.bin").read_bytes() == b"plain"
    same = run("cp", str(plain), str(plain))
    assert same.exit_code == 2 and "same file" in one_error_line(same) and plain.read_bytes() == b"plain"
    assert run("cp", "local://none.bin", "mem://x").exit_code == 3


def test_transfers_stream_in_bounded_memory(run: Cli, manager: StorageManager, tmp_path: Path) -> None:
    import tracemalloc

    size = 32 * 1024 * 1024
    source = tmp_path / "big.bin"
    with source.open("wb") as out:
        for _ in range(size // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))
    peaks = {}
    for step in (("put", str(source), "local://big.bin"), ("cp", "local://big.bin", "other://big.bin"),
                 ("get", "other://big.bin", str(tmp_path / "back.bin"))):
        tracemalloc.start()
        try:
            assert run(*step).exit_code == 0
            peaks[step[0]] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert (tmp_path / "back.bin").stat().st_size == size
    assert max(peaks.values()) < 8 * 1024 * 1024, peaks  # a couple of 1 MiB chunks, never the 32 MiB file


def test_dry_runs_change_nothing(run: Cli, manager: StorageManager, tmp_path: Path) -> None:
    local = manager.disk("local")
    local.put("keep/a.txt", "a")
    source = tmp_path / "new.txt"
    source.write_text("new")
    assert run("cp", "--dry-run", "local://keep/a.txt", "mem://a.txt").stdout.startswith("would copy")
    assert run("mv", "--dry-run", "local://keep/a.txt", "mem://a.txt").stdout.startswith("would move")
    assert run("put", "--dry-run", str(source), "local://new.txt").exit_code == 0
    assert run("get", "--dry-run", "local://keep/a.txt", str(tmp_path / "got.txt")).exit_code == 0
    assert run("rm", "--dry-run", "-r", "local://keep").stdout.splitlines() == [
        "would delete local://keep/a.txt", "would delete local://keep/"]
    assert local.all_files() == ["keep/a.txt"] and manager.disk("mem").all_files() == []
    assert not (tmp_path / "got.txt").exists() and source.exists()


def test_rm_files_directories_missing_and_the_root(run: Cli, manager: StorageManager) -> None:
    local = manager.disk("local")
    local.put("a.txt", "a")
    local.put("dir/b.txt", "b")
    assert run("rm", "local://a.txt").stdout.strip() == "deleted local://a.txt"
    directory = run("rm", "local://dir")
    assert directory.exit_code == 1 and "-r" in one_error_line(directory)
    assert local.file_exists("dir/b.txt")
    assert run("rm", "-r", "local://dir").exit_code == 0 and local.directory_missing("dir")
    assert run("rm", "local://a.txt").exit_code == 3
    assert run("rm", "-f", "local://a.txt").exit_code == 0
    for root in ("local://", "local://dir/..", "local:///"):
        refused = run("rm", "-r", root)
        assert refused.exit_code == 2 and "root" in refused.stderr


def test_a_failed_download_leaves_the_old_local_file_and_no_partial_file(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Tampered ciphertext fails part way through the stream: nothing half-written may appear locally."""
    key = "base64:" + base64.b64encode(os.urandom(32)).decode()
    config = write_config(tmp_path, extra=f'"enc": {{"driver": "encrypted", "disk": "other", "key": "{key}"}},')
    manager = StorageManager(load_config_file(config))
    manager.disk("enc").put("big.bin", os.urandom(512 * 1024))
    sealed = tmp_path / "b" / "big.bin"
    data = bytearray(sealed.read_bytes())
    data[400_000] ^= 0x01  # a late segment: the first ones decrypt and are written before the failure
    sealed.write_bytes(bytes(data))
    target = tmp_path / "dl" / "big.bin"
    target.parent.mkdir()
    target.write_bytes(b"the old download")
    result = Cli(manager)("get", "enc://big.bin", str(target))
    assert result.exit_code == 1
    assert "big.bin" in one_error_line(result) and "Traceback" not in result.output
    assert target.read_bytes() == b"the old download"
    assert sorted(os.listdir(target.parent)) == ["big.bin"]


def test_hostile_operands_never_leave_the_disk(run: Cli, manager: StorageManager, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("outside every disk")
    source = tmp_path / "payload.txt"
    source.write_text("payload")
    manager.disk("mem").put("src.txt", "payload")
    for operand in ("local://../secret.txt", "local://a/../../secret.txt", "scoped://../a/x", "local://x\x00y",
                    "scoped://..\\..\\secret.txt"):
        for args in (("cat", operand), ("put", str(source), operand), ("rm", "-rf", operand), ("ls", operand),
                     ("cp", "mem://src.txt", operand)):
            result = run(*args)
            assert result.exit_code in (2, 3), (args, result.output)
            assert "Traceback" not in result.output
    assert (tmp_path / "secret.txt").read_text() == "outside every disk"
    assert manager.disk("local").all_files() == [] and manager.disk("mem").all_files() == ["src.txt"]
    assert set(os.listdir(tmp_path)) <= {"filesystems.py", "payload.txt", "secret.txt", "a"}
    # symlinks planted inside a local disk's root lead nowhere outside it
    root = Path(manager.disk("local").path(""))
    root.mkdir(parents=True, exist_ok=True)
    os.symlink(tmp_path / "secret.txt", root / "leak.txt")
    os.symlink(tmp_path, root / "outside")
    for args in (("cat", "local://leak.txt"), ("cat", "local://outside/secret.txt"), ("get", "local://leak.txt", "-"),
                 ("ls", "-r", "local://outside"), ("cp", "local://outside/secret.txt", "mem://stolen.txt")):
        result = run(*args)
        assert result.exit_code != 0, args
        assert "outside every disk" not in result.stdout and "secret.txt" not in result.stdout, args
    assert run("put", str(source), "local://outside/planted.txt").exit_code != 0
    assert not (tmp_path / "planted.txt").exists()
    assert (tmp_path / "secret.txt").read_text() == "outside every disk"


def test_progress_bars_show_when_forced_and_stay_off_the_stdout_of_a_pipe(run: Cli, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    forced = run("--progress", "put", str(source), "mem://big.bin")
    assert forced.exit_code == 0
    assert "big.bin" in forced.stderr and "3.0/3.0 MiB" in forced.stderr
    assert forced.stdout.strip().startswith("copied")
    quiet = run("put", str(source), "mem://again.bin")  # CliRunner's streams are no terminal
    assert quiet.stderr == ""
    assert run("--progress", "get", "mem://big.bin", "-").stdout_bytes == source.read_bytes()


def test_without_rich_transfers_work_and_forced_bars_name_the_extra(run: Cli, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The web extra brings click alone: every command runs, only progress bars need rich."""
    import sys

    for name in [module for module in sys.modules if module == "rich" or module.startswith("rich.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "rich", None)
    source = tmp_path / "a.bin"
    source.write_bytes(b"abc")
    assert run("put", str(source), "mem://a.bin").exit_code == 0
    forced = run("--progress", "put", str(source), "mem://b.bin")
    assert forced.exit_code == 1 and 'pip install "flystore[cli]"' in one_error_line(forced)
    assert run.manager.disk("mem").all_files() == ["a.bin"]  # refused before anything was written
    assert run("usage", "mem://").stdout.startswith("mem://: 1 files, 3 B")


# -- maintenance: test, cleanup, link ----------------------------------------------------------------


def test_the_test_command_probes_each_disk_and_reports_failures(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port where nothing listens: the connection is refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path, extra=f"""
        "dead": {{"driver": "ftp", "host": "127.0.0.1", "port": {port}, "username": "u", "password": "p"}},
    """)
    run = Cli(StorageManager(load_config_file(config)))
    good = run("test", "local", "mem", "scoped", "ro", "--json")
    assert good.exit_code == 0, good.output
    results = {entry["disk"]: entry for entry in json.loads(good.stdout)}
    assert all(results[name]["ok"] for name in ("local", "mem", "scoped", "ro"))
    assert all(results["mem"]["steps"][step]["ok"] for step in ("write", "read", "list", "delete"))
    assert results["mem"]["steps"]["read"]["ms"] >= 0
    assert results["ro"]["steps"]["write"] == {"ok": None, "ms": results["ro"]["steps"]["write"]["ms"],
                                               "error": "read-only disk"}
    assert results["ro"]["steps"]["list"]["ok"] is True
    assert not any(name.startswith(".flystore-probe") for name in os.listdir(tmp_path / "a"))
    bad = run("test", "mem", "dead", "--timeout", "20")
    assert bad.exit_code == 1
    lines = bad.stdout.splitlines()
    assert lines[0].startswith("ok ") and "mem (memory)" in lines[0]
    assert lines[1].startswith("FAILED dead (ftp)") and "write FAILED" in lines[1]
    assert run("test", "nosuch").exit_code == 2


def test_a_disk_that_hangs_while_built_holds_up_no_other_disk(tmp_path: Path) -> None:
    import threading

    release = threading.Event()

    def hanging_driver(options: dict[str, Any], owner: StorageManager) -> Any:
        release.wait(30)  # a client stuck probing for credentials
        raise OSError("gave up")

    manager = StorageManager(load_config_file(write_config(tmp_path, extra='"stuck": {"driver": "stuck"},')))
    manager.extend("stuck", hanging_driver)
    try:
        result = Cli(manager)("test", "stuck", "mem", "scoped", "--timeout", "3", "--json")
    finally:
        release.set()
    assert result.exit_code == 1
    found = {entry["disk"]: entry for entry in json.loads(result.stdout)}
    assert found["stuck"]["ok"] is False and found["stuck"]["error"] == "no answer within 3 s"
    assert found["mem"]["ok"] is True and found["scoped"]["ok"] is True


def test_cleanup_deletes_only_files_older_than_the_cutoff(run: Cli, manager: StorageManager, tmp_path: Path) -> None:
    local = manager.disk("local")
    for name in ("old/a.log", "old/b.log", "new.log", "keep/old.log"):
        local.put(name, "x" * 10)
    month_ago = (tmp_path / "a" / "old" / "a.log").stat().st_mtime - 40 * 86400
    for name in ("old/a.log", "old/b.log", "keep/old.log"):
        os.utime(tmp_path / "a" / name, (month_ago, month_ago))
    dry = run("cleanup", "--days", "30", "--dry-run")
    assert dry.stdout.splitlines()[-1] == "would delete 3 files (30 B) older than 30 days from disk 'local'"
    assert len(local.all_files()) == 4
    done = json.loads(run("cleanup", "--disk", "local", "--days", "30", "--path", "old", "--json").stdout)
    assert done["deleted"] == ["old/a.log", "old/b.log"] and done["bytes"] == 20 and done["errors"] == {}
    assert local.all_files() == ["keep/old.log", "new.log"]
    assert run("cleanup", "--days", "0", "--path", "../..").exit_code == 2
    refused = run("cleanup", "--disk", "ro", "--days", "30")
    assert refused.exit_code == 1 and "keep/old.log" in refused.stderr
    assert local.all_files() == ["keep/old.log", "new.log"]


def test_link_is_idempotent_and_never_replaces_a_real_directory_or_a_foreign_link(
        run: Cli, manager: StorageManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = manager.disk("public").path("")
    first = run("link")
    assert first.exit_code == 0 and first.stdout.startswith("linked public/storage")
    assert os.readlink("public/storage") == root
    again = run("link")
    assert again.exit_code == 0 and again.stdout.startswith("already linked")
    os.unlink("public/storage")
    assert run("link", "--relative").exit_code == 0
    assert os.readlink("public/storage") == os.path.relpath(root, tmp_path / "public")
    assert run("link").stdout.startswith("already linked")  # relative or absolute: the same place
    # a foreign link: refused, then replaced with --force; the directory it pointed to is untouched
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("mine")
    os.unlink("public/storage")
    os.symlink(elsewhere, "public/storage")
    refused = run("link")
    assert refused.exit_code == 1 and "--force" in one_error_line(refused)
    assert os.readlink("public/storage") == str(elsewhere)
    assert run("link", "--force", "--dry-run").stdout.startswith("would link")
    assert os.readlink("public/storage") == str(elsewhere)
    assert run("link", "--force").exit_code == 0 and os.readlink("public/storage") == root
    assert (elsewhere / "precious.txt").read_text() == "mine"
    # a real directory (or file) is never replaced, not even with --force
    os.unlink("public/storage")
    os.mkdir("public/storage")
    Path("public/storage/index.html").write_text("real")
    for args in (("link",), ("link", "--force")):
        result = run(*args)
        assert result.exit_code == 1 and "not a symlink" in result.stderr
    assert Path("public/storage/index.html").read_text() == "real"
    shutil.rmtree("public/storage")
    Path("public/storage").write_text("a real file")
    assert run("link", "--force").exit_code == 1 and Path("public/storage").read_text() == "a real file"
    # the link turns into a real file between the check and the swap: the swap refuses
    os.unlink("public/storage")
    os.symlink(elsewhere, "public/storage")
    from flystore.cli._context import CommandFailed
    from flystore.cli.maintenance import _replace_link

    os.unlink("public/storage")
    Path("public/storage").write_text("raced in")
    with pytest.raises(CommandFailed):
        _replace_link(root, "public/storage")
    assert Path("public/storage").read_text() == "raced in"
    os.unlink("public/storage")
    assert run("link", "--disk", "mem").exit_code == 2  # not a local disk
    assert os.listdir("public") == []  # no temporary link left behind by any of the above


# -- help ---------------------------------------------------------------------------------------------------


def test_help_is_short_with_an_example_for_every_command(run: Cli) -> None:
    top = run("--help")
    assert top.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in top.stdout
    assert "Exit codes: 0 ok, 1 failed, 2 usage error, 3 not found" in " ".join(top.stdout.split())
    for name, entry in COMMANDS.items():
        if entry.optional:  # written by the web and audit parts of flystore
            continue
        page = run(name, "--help")
        assert page.exit_code == 0, name
        assert "Example" in page.stdout, name
        assert len(page.stdout.splitlines()) <= 30, name


def test_shell_completion_offers_disks_then_the_entries_of_a_directory(run: Cli, manager: StorageManager,
                                                                         config: Path) -> None:
    manager.disk("local").put("docs/a.txt", "a")
    manager.disk("local").put("docs/sub/b.txt", "b")

    def complete(words: str, *, obj: StorageManager | None = manager) -> list[str]:
        env = {"_FLYSTORE_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
        result = CliRunner().invoke(cli, [], obj=obj, env=env, prog_name="flystore")
        return [line for line in result.stdout.splitlines() if line]

    assert complete("flystore ls lo") == ["plain,local://", "file,lo"]
    assert complete("flystore cp local://docs/a.txt x") == ["file,x"]  # no disk starts with x: local files
    assert complete("flystore cat local://docs/") == ["plain,local://docs/a.txt", "plain,local://docs/sub/"]
    assert complete("flystore sync local://do") == ["plain,local://docs/"]
    assert complete("flystore ls nosuch://") == []
    assert complete(f"flystore --config {config} ls me", obj=None) == ["plain,mem://", "file,me"]
    assert complete("flystore test o") == ["plain,other"]
    assert complete("flystore cleanup --disk p") == ["plain,public"]


def test_an_unexpected_exception_is_one_line_unless_debug(tmp_path: Path) -> None:
    def broken_driver(options: dict[str, Any], owner: StorageManager) -> Any:
        raise TypeError("a driver bug")

    manager = StorageManager({"disks": {"bad": {"driver": "bad"}}})
    manager.extend("bad", broken_driver)
    result = Cli(manager).runner.invoke(cli, ["ls", "bad://"], obj=manager)
    assert result.exit_code == 1
    assert one_error_line(result) == (
        "Error: unexpected TypeError: a driver bug (run with --debug for the traceback)")
    debug = Cli(manager).runner.invoke(cli, ["--debug", "ls", "bad://"], obj=manager)
    assert isinstance(debug.exception, TypeError)


def test_a_missing_optional_command_is_listed_as_unavailable(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from flystore.cli import app

    ghost = app.LazyCommand("flystore.cli.ghost", "ghost", "Haunt.", "Browser and audit", True)
    monkeypatch.setitem(app.COMMANDS, "ghost", ghost)
    assert "Haunt. (not installed)" in run("--help").stdout
    result = run("ghost")
    assert result.exit_code == 1
    assert "not available" in one_error_line(result) and "flystore.cli.ghost" in result.stderr


@pytest.mark.parametrize(("size", "shown"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"),
                                             (3 * 1024**2, "3.0 MiB"), (7 * 1024**4, "7.0 TiB"), (None, "-")])
def test_sizes_are_shown_in_binary_units(size: int | None, shown: str) -> None:
    from flystore.cli._context import format_size

    assert format_size(size) == shown
