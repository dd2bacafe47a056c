"""The Object Lock bucket the audit shipper writes to, through boto3 (S3, or an S3-compatible
server by endpoint URL).

The vault's packages import no S3 client (tests/test_boundaries.py); only the shipper's
process, `strongroom audit ship`, loads this module.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class S3Bucket:
    """A strongroom.audit_ship.Bucket on S3: HeadObject for the checksum, conditional PutObject."""

    def __init__(
        self, name: str, endpoint_url: str | None = None, region: str | None = None
    ) -> None:
        self.name = name
        config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10)
        self._s3: Any = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    def checksum(self, key: str) -> str | None:
        """The object's SHA-256 as S3 stored it (base64); None if absent, "" if it has none.

        HeadObject needs s3:GetObject on the key. Without s3:ListBucket (the vault's role has
        none) S3 answers a missing key 403, not 404: None too, and the conditional PutObject
        that follows settles it (a 412 then means the key exists but cannot be read)."""
        try:
            head = self._s3.head_object(Bucket=self.name, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (403, 404):
                return None
            raise
        return str(head.get("ChecksumSHA256") or "")

    def create(self, key: str, data: bytes, sha256: str) -> bool:
        """PutObject only if the key is new (If-None-Match: *), with x-amz-checksum-sha256: S3
        checks the bytes against it, and an Object Lock bucket takes no object without one."""
        try:
            self._s3.put_object(
                Bucket=self.name,
                Key=key,
                Body=data,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=sha256,
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                return False  # the key exists: never a second version of it
            raise
        return True
