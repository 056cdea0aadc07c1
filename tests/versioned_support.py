"""Helpers of the versioned tests: a bucket with versions is emptied version by version."""

from __future__ import annotations

import contextlib
from typing import Any


def remove_versioned_bucket(client: Any, bucket: str) -> None:
    """Delete every version and delete marker, then the bucket."""
    with contextlib.suppress(client.exceptions.NoSuchBucket):
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [{"Key": item["Key"], "VersionId": item["VersionId"]}
                      for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
            for start in range(0, len(doomed), 1000):
                client.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start:start + 1000], "Quiet": True})
        client.delete_bucket(Bucket=bucket)
