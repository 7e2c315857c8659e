"""Grievance documents in an S3-compatible object store (AWS S3, MinIO, Garage,
Ceph and the like): the one module that talks to one.

What reaches the store is already encrypted (EncryptedStorage wraps this as it
wraps the folder), objects are private and are only ever read back by the app,
after its checks: nothing here makes a public or presigned address.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from union.adapters.documents import KEY_PATTERN

#: Where the startup check writes its probe: apart from the documents, whose keys
#: never contain a slash.
PROBE_PREFIX = "union-write-check/"
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class StoreUnavailable(RuntimeError):
    """The store cannot be reached, or does not let the app write and read back."""


@dataclass(frozen=True, slots=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> S3Settings:
        return cls(
            bucket=str(config["DOCUMENT_S3_BUCKET"]),
            endpoint_url=config.get("DOCUMENT_S3_ENDPOINT_URL") or None,
            region=config.get("DOCUMENT_S3_REGION") or None,
            access_key_id=config.get("DOCUMENT_S3_ACCESS_KEY_ID") or None,
            secret_access_key=config.get("DOCUMENT_S3_SECRET_ACCESS_KEY") or None,
        )

    def describe(self) -> str:
        """The store as an operator would look for it; never the keys."""
        return f"S3 bucket {self.bucket!r} at {self.endpoint_url or 'AWS S3'}"


def _client(settings: S3Settings) -> Any:
    config = Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 3, "mode": "standard"},
        # Most S3-compatible servers answer at one address for every bucket,
        # not at a host name per bucket as AWS does.
        s3={"addressing_style": "path" if settings.endpoint_url else "auto"},
        # Newer checksum headers that several S3-compatible servers refuse;
        # every upload carries a Content-MD5 instead, which all of them check.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        config=config,
    )


def _content_md5(data: bytes) -> str:
    digest = hashlib.md5(data, usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(
            ": "
        )
    return str(error)


class S3Storage:
    """Keeps each document as an object named by its random key."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.client = _client(settings)

    def __repr__(self) -> str:
        return f"S3Storage({self.settings.describe()})"

    def _key(self, key: str) -> str:
        # The same keys as the folder's, so documents move between the two as
        # they are; checked so that no key can name another object.
        if not KEY_PATTERN.match(key):
            raise FileNotFoundError(key)
        return key

    @contextmanager
    def _answering(self, key: str) -> Iterator[None]:
        """Turns the store's refusals and silences into FileNotFoundError (no
        such object) or StoreUnavailable naming the store."""
        try:
            yield
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(key) from error
            raise StoreUnavailable(
                f"{self.settings.describe()}: {_reason(error)}"
            ) from error
        except BotoCoreError as error:
            raise StoreUnavailable(
                f"{self.settings.describe()}: {_reason(error)}"
            ) from error

    def _put(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.settings.bucket,
            Key=key,
            Body=data,
            ContentMD5=_content_md5(data),
            ContentType="application/octet-stream",
        )

    def save(self, data: bytes) -> str:
        key = secrets.token_urlsafe(32)
        with self._answering(key):
            self._put(self._key(key), data)
        return key

    def read(self, key: str) -> bytes:
        with self._answering(key):
            answer = self.client.get_object(
                Bucket=self.settings.bucket, Key=self._key(key)
            )
            return bytes(answer["Body"].read())

    def replace(self, key: str, data: bytes) -> None:
        # A PUT replaces the whole object at once: a reader sees the old bytes or
        # the new ones, never half of each.
        with self._answering(key):
            self._put(self._key(key), data)

    def delete(self, key: str) -> None:
        with self._answering(key):
            self.client.delete_object(Bucket=self.settings.bucket, Key=self._key(key))

    def check_writable(self) -> None:
        """Writes a small object, reads it back and removes it; StoreUnavailable,
        naming the store and what went wrong, if any of it fails."""
        probe_key = PROBE_PREFIX + secrets.token_urlsafe(16)
        probe = secrets.token_bytes(32)
        try:
            self._put(probe_key, probe)
            answer = self.client.get_object(Bucket=self.settings.bucket, Key=probe_key)
            read_back = bytes(answer["Body"].read())
            self.client.delete_object(Bucket=self.settings.bucket, Key=probe_key)
        except (BotoCoreError, ClientError) as error:
            raise StoreUnavailable(
                f"{self.settings.describe()} cannot be written: {_reason(error)}"
            ) from error
        if read_back != probe:
            raise StoreUnavailable(
                f"{self.settings.describe()} gave back other bytes than were written"
            )
