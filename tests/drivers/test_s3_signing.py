"""The direct path's SigV4 signer gives exactly what botocore's S3 signer gives, for awkward keys and headers."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from flystore.drivers.s3.signing import SigV4, host_header

KEYS = [
    "plain.txt",
    "dir/sub/file name with  spaces.bin",
    "ünïcødé/日本語/ファイル.txt",
    "a+b=c&d?e#f%25g~h'i(j)k*l!m,n;o:p@q$r",
    "double//slash/./dot/../up",
    "trailing/",
]
HEADERS = [
    {},
    {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "max-age=60,  public",
     "x-amz-meta-note": "  several   spaces\tand a tab  ", "x-amz-acl": "public-read",
     "User-Agent": "left unsigned", "Expect": "100-continue"},
]
BASES = ["http://127.0.0.1:5000/my-bucket", "https://my-bucket.s3.eu-west-1.amazonaws.com",
         "https://s3.eu-west-1.amazonaws.com:443/my-bucket", "http://[::1]:9000/my-bucket"]


def botocore_signed(method: str, url: str, headers: dict[str, str], body: bytes | None,
                    credentials: Credentials, region: str) -> AWSRequest:
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    if body is not None:
        request.headers["Content-Length"] = str(len(body))
    S3SigV4Auth(credentials.get_frozen_credentials(), "s3", region).add_auth(request)
    return request


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEBYaDH+session/token=="])
def test_the_signature_is_botocores(base: str, token: str | None) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    signer = SigV4(host_header(base), "eu-west-1")
    path = urlsplit(base).path
    checked = 0
    for key in KEYS:
        for headers in HEADERS:
            for method, body in (("GET", None), ("HEAD", None), ("PUT", b"x" * 4096), ("PUT", b"")):
                quoted = quote(key, safe="/~")
                expected = botocore_signed(method, f"{base}/{quoted}", headers, body, credentials, "eu-west-1")
                ours = dict(headers)
                if body is not None:
                    ours["Content-Length"] = str(len(body))
                moment = datetime.strptime(expected.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
                signer.sign(method, f"{path}/{quoted}", ours, body or None, "AKIDEXAMPLE",
                            credentials.secret_key, token, now=moment)
                for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256"):
                    assert ours[name] == expected.headers[name], (method, key, headers, name)
                assert ours.get("X-Amz-Security-Token") == expected.headers.get("X-Amz-Security-Token")
                checked += 1
    assert checked == len(KEYS) * len(HEADERS) * 4


def test_the_cached_key_follows_the_day_and_the_secret() -> None:
    shared = SigV4("example.com", "us-east-1")  # keeps its key between calls
    for moment, secret in ((datetime(2026, 1, 1, 23, 59, 59), "first-secret"),
                           (datetime(2026, 1, 2, 0, 0, 1), "first-secret"),
                           (datetime(2026, 1, 2, 0, 0, 2), "rotated-secret")):
        ours: dict[str, str] = {}
        fresh: dict[str, str] = {}
        shared.sign("GET", "/k", ours, None, "AKID", secret, None, now=moment)
        SigV4("example.com", "us-east-1").sign("GET", "/k", fresh, None, "AKID", secret, None, now=moment)
        assert ours["Authorization"] == fresh["Authorization"], (moment, secret)


def test_the_host_header_drops_default_ports_only() -> None:
    assert host_header("https://Bucket.S3.amazonaws.com:443/x") == "bucket.s3.amazonaws.com"
    assert host_header("http://127.0.0.1:80") == "127.0.0.1"
    assert host_header("http://127.0.0.1:9000/b") == "127.0.0.1:9000"
    assert host_header("https://[::1]:8443/b") == "[::1]:8443"
