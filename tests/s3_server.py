"""moto's standalone server (pinned, test-only), a real S3-compatible peer on
127.0.0.1 for the document store tests. Registered as a plugin in
tests/conftest.py; the server starts only when a test asks for it, and each test
gets a bucket of its own.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.stripe_peer import free_port, serving

ACCESS_KEY_ID = "union-test-key"
SECRET_ACCESS_KEY = "union-test-secret"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of moto's server, in its own process on a free loopback port."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"

    def ready() -> None:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=5):  # noqa: S310 -- loopback only
            pass

    with serving(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        tmp_path_factory.mktemp("moto") / "server.log",
        name="moto's server",
        ready=ready,
        within=30,
        pause=0.1,
    ):
        yield endpoint


def s3_client(endpoint: str) -> Any:
    """A client of our own, to look at the bucket behind the app's back."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A new, empty bucket."""
    name = f"union-documents-{uuid.uuid4().hex[:12]}"
    s3_client(s3_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_settings(s3_endpoint: str, s3_bucket: str) -> dict[str, str]:
    """The app's settings for that bucket, as an operator would write them."""
    return {
        "DOCUMENT_S3_BUCKET": s3_bucket,
        "DOCUMENT_S3_ENDPOINT_URL": s3_endpoint,
        "DOCUMENT_S3_REGION": REGION,
        "DOCUMENT_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "DOCUMENT_S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
    }


def stored_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every object in the bucket, by key, as the store holds it."""
    client = s3_client(endpoint)
    listing = client.list_objects_v2(Bucket=bucket)
    return {
        item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in listing.get("Contents", [])
    }
