"""Where files live: one interface, two stores chosen by configuration.

Uploaded documents and rendered packets each have a store. ``STORAGE = "local"`` (the
embedded default) keeps them in folders of the instance (``DOCUMENT_DIR``, ``PACKET_DIR``);
``STORAGE = "s3"`` keeps them in an S3-compatible object store (AWS S3, MinIO, Ceph…):
bucket ``S3_BUCKET`` at ``S3_ENDPOINT_URL``, under the prefixes ``documents/`` and
``packets/`` (credentials from boto3's usual chain: ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, or the machine's role). docs/OPERATIONS.md, "File storage".

Files are content-addressed (named by their SHA-256), so a file stored twice is kept once
and a name can never point outside the store.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from flask import current_app

_HEX = frozenset("0123456789abcdef")


def content_key(content: bytes) -> str:
    """Return the key a content is stored under: its hex SHA-256."""
    return hashlib.sha256(content).hexdigest()


def _checked(key: str) -> str:
    if len(key) != 64 or any(c not in _HEX for c in key):
        raise KeyError(key)
    return key


class Store(Protocol):
    """What every store does: keep bytes under their SHA-256, give them back, tell if kept."""

    def put(self, content: bytes) -> str:
        """Store the bytes and return their key, the hex SHA-256."""
        ...  # pragma: no cover - a protocol

    def get(self, key: str) -> bytes:
        """Return the stored bytes; ``KeyError`` when there are none."""
        ...  # pragma: no cover - a protocol

    def exists(self, key: str) -> bool:
        """Tell whether the key is stored."""
        ...  # pragma: no cover - a protocol


class FileStore:
    """Files in a folder, named by the SHA-256 of their content, readable by the owner only."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        _checked(key)
        return self.root / key[:2] / key

    def put(self, content: bytes) -> str:
        """Store the bytes (atomically) and return their key, the hex SHA-256."""
        key = content_key(content)
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        """Return the stored bytes; ``KeyError`` when there are none."""
        path = self._path(key)
        if not path.exists():
            raise KeyError(key)
        return path.read_bytes()

    def exists(self, key: str) -> bool:
        """Tell whether the key is stored."""
        try:
            return self._path(key).exists()
        except KeyError:
            return False


class S3Store:
    """Objects in an S3-compatible bucket, named ``<prefix><sha256>``, never public.

    ``client`` is a boto3 S3 client (made from the configuration by :func:`s3_client`).
    Objects are written with their SHA-256 checked by the server (``ChecksumSHA256``), so a
    put that arrives damaged is refused rather than stored.
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _name(self, key: str) -> str:
        return f"{self.prefix}{_checked(key)}"

    def put(self, content: bytes) -> str:
        """Store the bytes and return their key, the hex SHA-256 (kept once)."""
        import base64

        key = content_key(content)
        if self.exists(key):
            return key
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._name(key),
            Body=content,
            ContentType="application/octet-stream",
            ChecksumSHA256=base64.b64encode(bytes.fromhex(key)).decode("ascii"),
        )
        return key

    def get(self, key: str) -> bytes:
        """Return the stored bytes; ``KeyError`` when there are none."""
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _missing(exc):
                raise KeyError(key) from None
            raise
        body: bytes = answer["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        """Tell whether the key is stored."""
        from botocore.exceptions import ClientError

        try:
            name = self._name(key)
        except KeyError:
            return False
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True


def _missing(exc: Any) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def s3_client(config: Any) -> Any:
    """Return a boto3 S3 client for the configured endpoint (path-style addressing)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        region_name=config.get("S3_REGION") or "us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def make_store(config: Any, kind: str, client: Any = None) -> Store:
    """Return the store of ``kind`` ("documents" or "packets") the configuration chooses."""
    backend = config.get("STORAGE", "local")
    if backend == "s3":
        client = client or s3_client(config)
        return S3Store(client, config["S3_BUCKET"], f"{config.get('S3_PREFIX', '')}{kind}/")
    if backend != "local":
        raise ValueError(f"STORAGE must be 'local' or 's3', not {backend!r}")
    folder = {"documents": "DOCUMENT_DIR", "packets": "PACKET_DIR"}[kind]
    return FileStore(config[folder])


def _app_client() -> Any:
    # One client per app: making one reads the configuration and costs milliseconds.
    if current_app.config.get("STORAGE", "local") != "s3":
        return None
    if "finportal_s3" not in current_app.extensions:
        current_app.extensions["finportal_s3"] = s3_client(current_app.config)
    return current_app.extensions["finportal_s3"]


def packet_store() -> Store:
    """Return the current app's store of rendered packets."""
    return make_store(current_app.config, "packets", _app_client())


def document_store() -> Store:
    """Return the current app's store of uploaded documents."""
    return make_store(current_app.config, "documents", _app_client())
