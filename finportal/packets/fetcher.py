"""A WeasyPrint URL fetcher that fetches nothing from outside the packet's own assets.

A packet is built from data that enterprises and advisors typed in. Even though the
template escapes it, the renderer must not be a way to read the server's files or to
make it call other hosts (SSRF), so, like Indico's renderer, it refuses every URL
except ``data:`` URIs and files inside ``finportal/packets/assets/``.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

__all__ = ["ASSETS_DIR", "PacketURLFetcher", "RefusedURLError"]

ASSETS_DIR = (Path(__file__).parent / "assets").resolve()

log = logging.getLogger(__name__)


class RefusedURLError(ValueError):
    """The packet renderer refused to fetch a URL."""


def _data_uri(url: str) -> URLFetcherResponse:
    """Decode a ``data:`` URI (RFC 2397) in memory, without any URL opener."""
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise RefusedURLError(f"malformed data: URI: {url[:80]}")
    params = header.split(";")
    mime = params[0] or "text/plain"
    body = (
        base64.b64decode(unquote(payload))
        if "base64" in params[1:]
        else unquote(payload).encode("utf-8")
    )
    return URLFetcherResponse(url, body, {"Content-Type": mime})


class PacketURLFetcher(URLFetcher):
    """Serve ``data:`` URIs and bundled assets; refuse every other URL with an error.

    WeasyPrint catches the error, logs it and leaves the resource out (an image is
    simply not drawn). Refused URLs are kept in :attr:`refused` for tests and logs.
    """

    def __init__(self, assets_dir: Path = ASSETS_DIR) -> None:
        # No redirects, no network handlers are ever reached: fetch() below decides.
        super().__init__(allow_redirects=False, allowed_protocols=("data", "file"))
        self.assets_dir = Path(assets_dir).resolve()
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        """Return the resource at ``url`` if it is allowed, else raise RefusedURLError."""
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return _data_uri(url)
        if scheme == "file":
            path = self._asset_path(url)
            if path is not None:
                mime, _ = mimetypes.guess_type(path.name)
                headers_out = {"Content-Type": mime or "application/octet-stream"}
                return URLFetcherResponse(path.as_uri(), path.read_bytes(), headers_out)
        self.refused.append(url)
        log.warning("packet renderer refused to fetch %s", url[:200])
        raise RefusedURLError(f"refused URL (only data: and packet assets): {url[:200]}")

    def _asset_path(self, url: str) -> Path | None:
        """Return the asset file a ``file:`` URL names, if it lies inside the assets dir."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        try:
            path = Path(unquote(parts.path)).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not path.is_file() or not path.is_relative_to(self.assets_dir):
            return None
        return path
