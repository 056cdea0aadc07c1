"""``flystore serve`` as a newcomer runs it: a real process on the embedded default config."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from flystore.cli.serve import serve
from flystore.web.server import is_loopback, url_host


def test_serve_on_the_embedded_default_prints_a_url_that_works_and_only_with_its_token(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("APP_KEY", "FLYSTORE_CONFIG", "FLYSTORE_SERVE_TOKEN", "APP_URL")
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "flystore", "serve", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline() for _ in range(3)]
        assert printed[0].strip() == "flystore serve: browsing local, public", printed
        assert printed[1].startswith("open http://127.0.0.1:") and "/?token=" in printed[1]
        url = printed[1].split()[1]
        base, token = url.split("/?token=")
        assert len(token) >= 32

        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with browser.open(url) as page:  # the 303 sets the cookie; the page then loads with it
            assert page.url == base + "/" and b'name="csrf-token"' in page.read()
        with browser.open(base + "/api/disks") as answer:
            assert [disk["name"] for disk in json.load(answer)["disks"]] == ["local", "public"]

        scripted = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        upload = urllib.request.Request(
            base + "/api/upload?disk=local&name=hello.txt", data=b"hi", method="POST", headers=scripted
        )
        with urllib.request.urlopen(upload) as answer:  # our own loopback server
            assert answer.status == 201
        assert (tmp_path / "storage" / "app" / "hello.txt").read_bytes() == b"hi"
        sign = urllib.request.Request(
            base + "/api/temporary-url",
            method="POST",
            headers=scripted,
            data=json.dumps({"disk": "local", "path": "hello.txt"}).encode(),
        )
        with urllib.request.urlopen(sign) as answer:
            link = json.load(answer)["url"]
        with urllib.request.urlopen(base + link) as shared:  # no token: the signature is the grant
            assert shared.read() == b"hi"

        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/api/list?disk=local")
        assert refused.value.code == 401
        refused.value.close()
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=20)
    assert process.returncode == 0, errors
    assert "APP_KEY is not set" in errors


def test_bad_options_are_usage_errors_before_anything_listens(tmp_path: Path) -> None:
    config = tmp_path / "filesystems.py"
    config.write_text(f"FILESYSTEMS = {{'disks': {{'files': {{'driver': 'local', 'root': {str(tmp_path)!r}}}}}}}\n")
    runner = CliRunner()
    short = runner.invoke(serve, ["--config", str(config), "--token", "short", "--port", "0"])
    assert short.exit_code == 2 and "16-256 characters" in short.output
    unknown = runner.invoke(serve, ["--config", str(config), "--disk", "nope"])
    assert unknown.exit_code == 2 and "nope" in unknown.output and "files" in unknown.output
    missing = runner.invoke(serve, ["--config", str(tmp_path / "absent.py")])
    assert missing.exit_code == 2 and "absent.py" in missing.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = runner.invoke(serve, ["--config", str(config), "--port", str(taken.getsockname()[1])])
    assert busy.exit_code == 1 and "cannot listen on 127.0.0.1" in busy.output


def test_the_server_socket_is_tcp_so_that_nagle_is_turned_off() -> None:
    # asyncio sets TCP_NODELAY only on sockets whose proto says TCP; without it each answer waited ~40 ms.
    from flystore.web.server import WebServer

    server = WebServer(lambda scope, receive, send: None, port=0)
    try:
        assert server.socket.proto == socket.IPPROTO_TCP and server.port > 0
    finally:
        server.socket.close()


def test_what_counts_as_loopback_and_how_hosts_go_into_urls() -> None:
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.3.4.5", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "192.168.1.2", "::", "example.com"))
    assert url_host("::1") == "[::1]" and url_host("0.0.0.0") == "127.0.0.1" and url_host("localhost") == "localhost"
