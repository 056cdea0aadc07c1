"""dask workers in other processes read and write disks through flystore:// (issue 8, item 5).

The workers learn the disks from the configuration file named by
``storage_options={"config": ...}`` (and ``FLYSTORE_CONFIG`` for the parquet
write-back); nothing but that configuration travels.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.dataframe as dd  # type: ignore[import-untyped]  # test dependencies: missing fails collection
import distributed  # type: ignore[import-untyped]
import pandas  # type: ignore[import-untyped]
import pytest


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  worker_dashboard_address=None) as cluster, distributed.Client(cluster) as made:
        yield made


@pytest.fixture
def config(tmp_path: Path, s3_endpoint: str) -> str:
    bucket = f"dask-{uuid.uuid4().hex[:12]}"
    path = tmp_path / "filesystems.py"
    path.write_text(
        "FILESYSTEMS = {'disks': {\n"
        f"    'lake': {{'driver': 'local', 'root': {str(tmp_path / 'lake')!r}}},\n"
        "    'tenant': {'driver': 'scoped', 'disk': 'lake', 'prefix': 'tenants/acme'},\n"
        f"    's3': {{'driver': 's3', 'bucket': {bucket!r}, 'endpoint': {s3_endpoint!r}, 'key': 'testing',\n"
        "           'secret': 'testing', 'region': 'us-east-1', 'create_bucket': True},\n"
        "}}\n"
    )
    return str(path)


def _frame(rows: int) -> Any:
    return pandas.DataFrame(
        {"n": range(rows), "s": [f"row-{i}" for i in range(rows)], "part": [i % 3 for i in range(rows)]}
    )


@pytest.mark.parametrize("disk", ["tenant", "s3"])
def test_workers_read_parquet_and_csv_and_write_back(client: Any, config: str, disk: str) -> None:
    from flystore import StorageManager
    from flystore.config import load_config_file

    options = {"config": config}
    here = StorageManager(load_config_file(config)).disk(disk)
    expected = _frame(3000)
    for part, group in expected.groupby("part"):
        with here.fs.open(f"dataset/part={part}/data.parquet", "wb") as handle:
            group.drop(columns="part").to_parquet(handle, index=False)
    here.fs.pipe_file("table.csv", expected.to_csv(index=False).encode())

    parquet = dd.read_parquet(f"flystore://{disk}/dataset", storage_options=options)
    got = parquet.compute().sort_values("n").reset_index(drop=True)
    pandas.testing.assert_frame_equal(got[["n", "s"]], expected[["n", "s"]], check_dtype=False)
    assert sorted(got["part"].astype(int).unique()) == [0, 1, 2]

    # A small blocksize makes dask split the CSV with read_block in the workers.
    csv = dd.read_csv(f"flystore://{disk}/table.csv", storage_options=options, blocksize=4096)
    assert csv.npartitions > 1
    pandas.testing.assert_frame_equal(csv.compute().sort_values("n").reset_index(drop=True), expected,
                                      check_dtype=False)

    doubled = csv.assign(n=csv.n * 2)
    doubled.to_parquet(f"flystore://{disk}/out", storage_options=options, write_index=False)
    back = pandas.read_parquet(f"flystore://{disk}/out", storage_options=options).sort_values("n")
    assert back["n"].tolist() == [2 * i for i in range(3000)]
    assert here.fs.find("out")  # written through the disk, so under its scope
    if disk == "tenant":
        lake = StorageManager(load_config_file(config)).disk("lake")
        assert lake.directory_exists("tenants/acme/out")
