"""The S3-compatible store, against a real S3 server (moto's server mode, in its own process)."""

from __future__ import annotations

import hashlib
import io
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from finportal.storage import S3Store, make_store, s3_client
from tests.finportal.documents import files

BUCKET = "finportal-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """Start moto's S3 server on a free port; yield its endpoint URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None, "moto's server did not start"
                assert time.monotonic() < deadline, "moto's server did not answer in 30 s"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_config(s3_server, monkeypatch) -> dict[str, Any]:
    """An S3 configuration for the test server, with its bucket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    config = {"STORAGE": "s3", "S3_ENDPOINT_URL": s3_server, "S3_BUCKET": BUCKET, "S3_PREFIX": "t/"}
    client = s3_client(config)
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    return config


def test_the_s3_store_keeps_bytes_under_their_hash(s3_config):
    store = make_store(s3_config, "documents")
    assert isinstance(store, S3Store)
    content = files.pdf(1, "S3 测试")
    key = store.put(content)
    assert key == hashlib.sha256(content).hexdigest()
    assert store.put(content) == key  # stored once
    assert store.exists(key) and store.get(key) == content
    raw = s3_client(s3_config).get_object(Bucket=BUCKET, Key=f"t/documents/{key}")
    assert raw["Body"].read() == content
    missing = "0" * 64
    assert not store.exists(missing)
    with pytest.raises(KeyError):
        store.get(missing)
    with pytest.raises(KeyError):
        store.get("../../etc/passwd")
    assert not store.exists("../x")


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="STORAGE"):
        make_store({"STORAGE": "ftp"}, "documents")


@pytest.mark.db
def test_the_portal_stores_documents_and_packets_in_s3(
    app, s3_config, client, login, db_session, make_loop, monkeypatch, request
):
    for name, value in s3_config.items():
        monkeypatch.setitem(app.config, name, value)
    app.extensions.pop("finportal_s3", None)
    request.addfinalizer(lambda: app.extensions.pop("finportal_s3", None))
    loop = make_loop(packet=True)  # its packet is rendered into the S3 store
    login(loop.sme_user)
    contract = files.pdf(1, "S3 合同")
    response = client.post(
        f"/sme/applications/{loop.application.id}/documents",
        data={"kind": "contract", "document": (io.BytesIO(contract), "合同.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    key = hashlib.sha256(contract).hexdigest()
    objects = s3_client(s3_config).list_objects_v2(Bucket=BUCKET, Prefix="t/")
    names = {o["Key"] for o in objects.get("Contents", [])}
    assert f"t/documents/{key}" in names
    assert any(n.startswith("t/packets/") for n in names)
    assert not (Path(app.config["DOCUMENT_DIR"]) / key[:2] / key).exists()
    client.post("/auth/logout")
    login(loop.bank_user)
    bundle = client.get(f"/bank/referrals/{loop.referral.id}/bundle.zip")
    assert bundle.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(bundle.data))
    assert contract in [archive.read(n) for n in archive.namelist()]
