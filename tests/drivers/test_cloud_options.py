"""Cloud driver options: seed aliases, did-you-mean, credentials checked when the disk is built,
metadata the backend would change or cannot hold (issue 6 items 5, 9 and 10; core metadata rule)."""

from __future__ import annotations

import contextlib
import json
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import FilesystemAdapter, InvalidConfiguration, InvalidMetadata, StorageManager
from flystore.drivers.s3 import S3FilesystemAdapter
from tests.services import AZURITE_ACCOUNT, AZURITE_KEY

S3_CREDENTIALS = {"key": "testing", "secret": "testing", "region": "us-east-1"}


def _disk(config: dict[str, Any]) -> FilesystemAdapter:
    return StorageManager({"disks": {"cloud": config}}).disk("cloud")


@pytest.fixture
def s3_config(s3_endpoint: str) -> Iterator[dict[str, Any]]:
    yield {"driver": "s3", "bucket": f"opt-{uuid.uuid4().hex[:12]}", "endpoint": s3_endpoint, "create_bucket": True,
           **S3_CREDENTIALS}


@pytest.fixture
def gcs_config(gcs_endpoint: str) -> dict[str, Any]:
    return {"driver": "gcs", "bucket": f"opt-{uuid.uuid4().hex[:12]}", "endpoint": gcs_endpoint, "token": "anon",
            "project_id": "test", "create_bucket": True}


@pytest.fixture
def azure_config(azure_connection_string: str) -> dict[str, Any]:
    return {"driver": "azure", "container": f"opt-{uuid.uuid4().hex[:12]}",
            "connection_string": azure_connection_string, "create_container": True}


@pytest.fixture
def built() -> Iterator[Callable[[dict[str, Any]], FilesystemAdapter]]:
    disks: list[FilesystemAdapter] = []

    def build(config: dict[str, Any]) -> FilesystemAdapter:
        disks.append(_disk(config))
        return disks[-1]

    yield build
    for disk in disks:
        with contextlib.suppress(Exception):
            disk.delete_directory("under")
        disk.close()


# -- aliases --------------------------------------------------------------------------------


def test_the_seeds_s3_constructor_call_works_as_written(s3_endpoint: str) -> None:
    bucket = f"seed-{uuid.uuid4().hex[:12]}"
    disk = S3FilesystemAdapter(
        bucket=bucket, region="us-east-1", access_key="testing", secret_key="testing", endpoint_url=s3_endpoint,
        use_ssl=True, create_bucket=True,
    )
    try:
        disk.put("seed.txt", b"as written")
        assert disk.get("seed.txt") == b"as written"
        assert disk.delete("seed.txt")
    finally:
        disk.close()


@pytest.mark.parametrize(
    ("driver", "alias", "canonical"),
    [("s3", "access_key", "key"), ("s3", "secret_key", "secret"), ("s3", "endpoint_url", "endpoint"),
     ("s3", "base_path", "prefix"), ("gcs", "credentials_path", "key_file"), ("gcs", "base_path", "prefix"),
     ("azure", "base_path", "prefix"), ("azure", "key", "account_key")],
)
def test_giving_both_spellings_is_refused(driver: str, alias: str, canonical: str) -> None:
    config = {"driver": driver, "bucket": "b", "container": "box", alias: "x", canonical: "y"}
    config.pop("container" if driver != "azure" else "bucket")
    with pytest.raises(InvalidConfiguration) as caught:
        _disk(config)
    assert caught.value.option == alias and caught.value.disk == "cloud"
    assert canonical in str(caught.value) and "not both" in str(caught.value)


def test_base_path_puts_every_file_under_the_prefix(
    built: Callable[[dict[str, Any]], FilesystemAdapter], s3_config: dict[str, Any], gcs_config: dict[str, Any],
    azure_config: dict[str, Any],
) -> None:
    for config in (s3_config, gcs_config, azure_config):
        scoped = built({**config, "base_path": "under/here"})
        flag = "create_container" if config["driver"] == "azure" else "create_bucket"
        whole = built({**config, flag: False})
        scoped.put("f.txt", b"inside")
        assert whole.get("under/here/f.txt") == b"inside", config["driver"]


@pytest.mark.parametrize(
    ("driver", "typo", "suggestion"),
    [("s3", "secrt", "secret"), ("s3", "endpiont", "endpoint"), ("gcs", "key_fille", "key_file"),
     ("gcs", "retrys", "retries"), ("azure", "acount_key", "account_key")],
)
def test_an_unknown_option_lists_the_known_ones_with_a_did_you_mean(driver: str, typo: str, suggestion: str) -> None:
    config = {"driver": driver, typo: "x", **({"container": "box"} if driver == "azure" else {"bucket": "b"})}
    with pytest.raises(InvalidConfiguration) as caught:
        _disk(config)
    message = str(caught.value)
    assert caught.value.option == typo and f"did you mean '{suggestion}'" in message
    assert "timeout" in message and "retries" in message  # the list of known options


@pytest.mark.parametrize(("option", "value"), [("retries", -1), ("retries", "3"), ("timeout", 0), ("timeout", "5")])
@pytest.mark.parametrize("driver", ["s3", "gcs", "azure"])
def test_bad_retries_and_timeouts_are_refused(driver: str, option: str, value: Any) -> None:
    config = {"driver": driver, option: value, "account_name": "a", "account_key": AZURITE_KEY,
              **({"container": "box"} if driver == "azure" else {"bucket": "b"})}
    if driver != "azure":
        config.pop("account_name"), config.pop("account_key")
    with pytest.raises(InvalidConfiguration) as caught:
        _disk(config)
    assert caught.value.option == option


def test_retries_and_timeout_reach_the_clients(gcs_config: dict[str, Any], s3_config: dict[str, Any],
                                               built: Callable[[dict[str, Any]], FilesystemAdapter]) -> None:
    gcs: Any = built({**gcs_config, "retries": 5, "timeout": 7}).backend
    assert gcs.fs.flystore_retries == 5 and gcs.fs.requests_timeout.sock_read == 7
    s3: Any = built({**s3_config, "retries": 4, "timeout": 6}).backend
    config = s3.client.meta.config
    assert config.retries["total_max_attempts"] == 5 and (config.connect_timeout, config.read_timeout) == (6, 6)
    defaults: Any = built({**s3_config, "create_bucket": False}).backend
    assert defaults.client.meta.config.retries["total_max_attempts"] == 3
    assert defaults.client.meta.config.read_timeout == 3


# -- credentials checked when the disk is built, without the network ---------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every outgoing connection attempt (and refuse it) while the disk is built."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise OSError("no network in this test")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.mark.parametrize("content", [None, "not json {", json.dumps({"type": "api_key", "key": "x"}), "[1, 2]"])
@pytest.mark.parametrize("spelling", ["key_file", "credentials_path"])
def test_a_gcs_key_file_that_is_not_credentials_is_refused_without_the_network(
    tmp_path: Path, content: str | None, spelling: str, no_network: list[Any]
) -> None:
    path = tmp_path / "key.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InvalidConfiguration) as caught:
        _disk({"driver": "gcs", "bucket": "b", spelling: str(path)})
    assert caught.value.option == "key_file" and str(path) in str(caught.value)
    message = str(caught.value)
    if content is None:
        assert "does not exist" in message
    else:
        assert "credential" in message or "JSON" in message
    assert no_network == []


@pytest.mark.parametrize("token", ["/nope/k.json", "creds.json", "keys/service.json"])
def test_a_gcs_token_that_names_a_missing_file_is_refused_without_the_network(
    token: str, no_network: list[Any]
) -> None:
    with pytest.raises(InvalidConfiguration, match="does not exist") as caught:
        _disk({"driver": "gcs", "bucket": "b", "token": token})
    assert caught.value.option == "token" and token in str(caught.value)
    assert no_network == []


def test_a_gcs_key_file_dict_must_be_a_credential() -> None:
    with pytest.raises(InvalidConfiguration, match="service-account"):
        _disk({"driver": "gcs", "bucket": "b", "key_file": {"private_key": "x"}})


@pytest.mark.parametrize("key", ["not base64!", "abc", AZURITE_KEY[:-3]])
def test_an_azure_account_key_that_is_not_base64_is_refused_when_built(key: str) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        _disk({"driver": "azure", "container": "box", "account_name": AZURITE_ACCOUNT, "account_key": key,
               "endpoint": "http://127.0.0.1:9/devstoreaccount1"})
    assert caught.value.option == "account_key" and "base64" in str(caught.value)
    with pytest.raises(InvalidConfiguration) as in_string:
        _disk({"driver": "azure", "container": "box",
               "connection_string": f"DefaultEndpointsProtocol=http;AccountName=a;AccountKey={key};"
                                    "BlobEndpoint=http://127.0.0.1:9/a;"})
    assert in_string.value.option == "connection_string" and "base64" in str(in_string.value)


def test_the_azure_key_alias_works(built: Callable[[dict[str, Any]], FilesystemAdapter],
                                   azure_config: dict[str, Any]) -> None:
    fields = dict(part.split("=", 1) for part in azure_config["connection_string"].split(";") if part)
    disk = built({"driver": "azure", "container": azure_config["container"], "account_name": AZURITE_ACCOUNT,
                  "key": AZURITE_KEY, "endpoint": fields["BlobEndpoint"], "create_container": True})
    disk.put("under/k.txt", b"signed with the aliased key")
    assert disk.get("under/k.txt") == b"signed with the aliased key"


# -- metadata the backend would change or cannot hold ------------------------------------------


@pytest.mark.parametrize(("key", "words"), [("Author", "lower-cased"), ("has space", "cannot be stored"),
                                            ("café", "cannot be stored"), ("a:b", "cannot be stored")])
def test_s3_refuses_metadata_keys_it_would_change(
    built: Callable[[dict[str, Any]], FilesystemAdapter], s3_config: dict[str, Any], key: str, words: str
) -> None:
    disk = built(s3_config)
    with pytest.raises(InvalidMetadata) as caught:
        disk.put("under/m.txt", b"x", metadata={key: "v"})
    assert repr(key) in str(caught.value) and words in str(caught.value)
    assert caught.value.disk == "cloud" and caught.value.path == "under/m.txt"
    assert disk.file_missing("under/m.txt")


@pytest.mark.parametrize(("key", "words"), [("my-key", "not allowed"), ("1st", "not allowed"),
                                            ("hdi_isfolder", "not allowed")])
def test_azure_refuses_metadata_names_that_are_not_identifiers(
    built: Callable[[dict[str, Any]], FilesystemAdapter], azure_config: dict[str, Any], key: str, words: str
) -> None:
    disk = built(azure_config)
    with pytest.raises(InvalidMetadata) as caught:
        disk.put("under/m.txt", b"x", metadata={key: "v"})
    assert repr(key) in str(caught.value) and words in str(caught.value)
    with pytest.raises(InvalidMetadata, match="same name"):
        disk.put("under/m.txt", b"x", metadata={"Owner": "a", "owner": "b"})
    assert disk.file_missing("under/m.txt")


@pytest.mark.parametrize(("driver", "limit"), [("s3", 2048), ("gcs", 8 * 1024 - 32), ("azure", 8 * 1024)])
def test_metadata_limits_are_declared_and_enforced(
    built: Callable[[dict[str, Any]], FilesystemAdapter], request: pytest.FixtureRequest, driver: str, limit: int
) -> None:
    disk = built(request.getfixturevalue(f"{driver}_config"))
    assert disk.backend.metadata_limit == limit
    fits = {"big": "v" * (limit - 3)}
    disk.put("under/fits.txt", b"x", metadata=fits)
    assert disk.metadata("under/fits.txt")["metadata"] == fits
    with pytest.raises(InvalidMetadata) as caught:
        disk.put("under/over.txt", b"x", metadata={"big": "v" * (limit - 2)})
    assert caught.value.path == "under/over.txt"
    assert disk.file_missing("under/over.txt")


def test_s3_counts_the_encoded_size_of_non_ascii_values(
    built: Callable[[dict[str, Any]], FilesystemAdapter], s3_config: dict[str, Any]
) -> None:
    disk = built(s3_config)
    value = "é" * 700  # 1,400 UTF-8 bytes, 1,892 once sent as an RFC 2047 word
    disk.put("under/ok.txt", b"x", metadata={"k": value})
    assert disk.metadata("under/ok.txt")["metadata"] == {"k": value}
    with pytest.raises(InvalidMetadata, match="2048"):
        disk.put("under/over.txt", b"x", metadata={"k": "é" * 800})  # 1,600 bytes, but 2,160 as sent


# -- names the backend cannot hold -------------------------------------------------------------

LONG = "/".join(["segment" * 10] * 70)  # 4,969 bytes: over the 1,024 every cloud allows


@pytest.mark.parametrize("driver", ["s3", "gcs", "azure"])
def test_a_name_over_the_clouds_limit_is_refused_before_it_is_sent(
    built: Callable[[dict[str, Any]], FilesystemAdapter], request: pytest.FixtureRequest, driver: str
) -> None:
    from flystore import FileNotFound, UnableToCopyFile, UnableToWriteFile

    disk = built(request.getfixturevalue(f"{driver}_config"))
    with pytest.raises(UnableToWriteFile, match="1,024") as caught:
        disk.put(LONG, b"x")
    assert caught.value.path == LONG and caught.value.disk == "cloud"
    with pytest.raises(UnableToWriteFile, match="1,024"):
        disk.write_stream(LONG, iter([b"x"]))
    assert disk.file_exists(LONG) is False and disk.exists(LONG) is False
    with pytest.raises(FileNotFound):
        disk.get(LONG)
    disk.put("under/short.txt", b"x")
    with pytest.raises(UnableToCopyFile, match="1,024"):
        disk.copy("under/short.txt", LONG)
    at_limit = "under/" + "n" * (1024 - len("under/"))  # exactly 1,024: allowed
    disk.put(at_limit, b"fits")
    assert disk.get(at_limit) == b"fits"
    if driver == "s3":
        assert disk.backend.direct is not None  # type: ignore[attr-defined]  # no 400 switched it off
