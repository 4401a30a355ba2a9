"""Where files live: one interface, files in the instance folder by default.

Uploaded documents (``DOCUMENT_DIR``) and rendered packets (``PACKET_DIR``) each have a store.

Files are content-addressed (named by their SHA-256), so a file stored twice is kept once
and a name can never point outside the store. Object storage for production fits behind
the same three methods.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app


class FileStore:
    """Files in a folder, named by the SHA-256 of their content, readable by the owner only."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise KeyError(key)
        return self.root / key[:2] / key

    def put(self, content: bytes) -> str:
        """Store the bytes (atomically) and return their key, the hex SHA-256."""
        key = hashlib.sha256(content).hexdigest()
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


def packet_store() -> FileStore:
    """Return the current app's store of rendered packets (``PACKET_DIR``)."""
    return FileStore(current_app.config["PACKET_DIR"])


def document_store() -> FileStore:
    """Return the current app's store of uploaded documents (``DOCUMENT_DIR``)."""
    return FileStore(current_app.config["DOCUMENT_DIR"])
