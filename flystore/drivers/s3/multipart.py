"""Multipart transfers of the S3 backend: concurrent part uploads, part-by-part copies, part lists."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from ...backend import Readable
from ...errors import UnableToWriteFile
from .base import _SSE_C, _S3Base
from .bodies import _ChunksBody
from .common import _MAX_PARTS, _MIN_PART, _READ_CHUNK, _params_for
from .errors import _fail


class _S3Multipart(_S3Base):
    """Uploads and copies part by part, at most ``max_concurrency`` parts at a time."""

    def _stream_parts(self, stream: Readable) -> Iterator[_ChunksBody]:
        """Parts of at least ``part_size`` (growing after every 2000 parts to stay under 10,000)."""
        number = 0
        while True:
            target = self.part_size << (number // 2000)
            chunks: list[bytes] = []
            size = 0
            while size < target:
                chunk = stream.read(min(_READ_CHUNK, target - size))
                if not chunk:
                    break
                chunks.append(bytes(chunk) if not isinstance(chunk, bytes) else chunk)
                size += len(chunk)
            if size == 0 and number > 0:
                return  # never an empty trailing part
            number += 1
            yield _ChunksBody(chunks)
            if size < target:
                return

    def _start_upload(self, path: str, key: str, params: Mapping[str, Any]) -> str:
        """CreateMultipartUpload with the write parameters it takes; returns the upload id.

        Raises:
            UnableToWriteFile: S3 refused or could not be reached.
        """
        try:
            return str(
                self.client.create_multipart_upload(
                    Bucket=self.bucket, Key=key, **_params_for(self.client, "CreateMultipartUpload", params)
                )["UploadId"]
            )
        except Exception as cause:
            _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)

    def _multipart(
        self,
        path: str,
        key: str,
        params: Mapping[str, Any],
        bodies: Iterator[_ChunksBody],
        concurrency: int,
        *,
        complete: Mapping[str, Any] | None = None,
    ) -> None:
        """Upload ``bodies`` as parts, at most ``concurrency`` in flight; abort on any failure.

        ``complete`` adds parameters to the completion (``IfNoneMatch`` for an exclusive create).
        """
        upload_id = self._start_upload(path, key, params)
        completed: dict[int, str] = {}

        def send(number: int, body: _ChunksBody) -> tuple[int, str]:
            response = self.client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, **self._part_params
            )
            return number, str(response["ETag"])

        try:
            with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="flystore-s3") as pool:
                pending: set[Future[tuple[int, str]]] = set()
                number = 0
                try:
                    while True:
                        # Wait for a free slot *before* reading the next part: at most
                        # ``concurrency`` parts exist at any time, in flight or being filled.
                        while len(pending) >= concurrency:
                            done, pending = wait(pending, return_when=FIRST_COMPLETED)
                            for future in done:
                                part_number, etag = future.result()
                                completed[part_number] = etag
                        body = next(bodies, None)
                        if body is None:
                            break
                        number += 1
                        if number > _MAX_PARTS:
                            raise UnableToWriteFile.at(path, "the upload needs more than 10,000 parts")
                        pending.add(pool.submit(send, number, body))
                        del body
                    for future in pending:
                        part_number, etag = future.result()
                        completed[part_number] = etag
                except BaseException:
                    for future in pending:
                        future.cancel()
                    raise
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": completed[n]} for n in sorted(completed)]},
                **self._small_params,
                **(complete or {}),
            )
        except BaseException as cause:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            if isinstance(cause, Exception):
                _fail(cause, UnableToWriteFile, path, missing_is=UnableToWriteFile)
            raise

    def _multipart_copy(
        self, source_ref: Mapping[str, str], target: str, head: Mapping[str, Any], params: Mapping[str, Any]
    ) -> None:
        size = int(head["ContentLength"])
        part = max(self.copy_part_size, _MIN_PART, math.ceil(size / _MAX_PARTS))
        create: dict[str, Any] = {
            key: value for key, value in params.items() if not key.startswith("CopySource")
        }
        create["ContentType"] = head.get("ContentType") or "application/octet-stream"
        if head.get("Metadata"):
            create["Metadata"] = dict(head["Metadata"])
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=target, **create)["UploadId"]
        copy_extra = {key: value for key, value in params.items() if key.startswith("CopySource") or key in _SSE_C}
        etag = head.get("ETag")
        if etag:
            copy_extra["CopySourceIfMatch"] = etag

        def copy_part(number: int) -> dict[str, Any]:
            start = (number - 1) * part
            end = min(start + part, size) - 1
            response = self.client.upload_part_copy(
                Bucket=self.bucket, Key=target, UploadId=upload_id, PartNumber=number, CopySource=dict(source_ref),
                CopySourceRange=f"bytes={start}-{end}", **copy_extra,
            )
            return {"PartNumber": number, "ETag": response["CopyPartResult"]["ETag"]}

        try:
            count = math.ceil(size / part)
            with ThreadPoolExecutor(max_workers=max(1, self.max_concurrency * 2)) as pool:
                parts = list(pool.map(copy_part, range(1, count + 1)))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=target, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=target, UploadId=upload_id)
            raise


def _parts_list(parts: Sequence[Any], path: str) -> list[dict[str, Any]]:
    """``["etag1", ...]``, ``[(1, "etag1"), ...]`` or ``[{"PartNumber": 1, "ETag": ...}, ...]``."""
    listed: list[dict[str, Any]] = []
    for index, part in enumerate(parts, start=1):
        if isinstance(part, str):
            listed.append({"PartNumber": index, "ETag": part})
        elif isinstance(part, Mapping):
            number = part.get("PartNumber", part.get("part_number", index))
            etag = part.get("ETag", part.get("etag"))
            if etag is None:
                raise UnableToWriteFile.at(path, f"part {number} has no ETag")
            listed.append({"PartNumber": int(number), "ETag": str(etag)})
        elif isinstance(part, (tuple, list)) and len(part) == 2:
            listed.append({"PartNumber": int(part[0]), "ETag": str(part[1])})
        else:
            raise UnableToWriteFile.at(path, f"cannot read part {index}: {part!r}")
    listed.sort(key=lambda item: int(item["PartNumber"]))
    return listed
