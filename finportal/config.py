"""Configuration read from the environment (``FINPORTAL_*`` variables)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from finportal import limits


class ConfigError(RuntimeError):
    """Raised when the application cannot start with the configuration it was given."""


def _secret_key(instance_path: Path, production: bool) -> str:
    """Return the secret key: from the environment, or kept in the instance folder in development."""
    key = os.environ.get("FINPORTAL_SECRET_KEY")
    if key and production and len(key) < 32:
        raise ConfigError(
            "FINPORTAL_SECRET_KEY 太短：生产环境至少需要32个字符（例如 python -c 'import secrets; print(secrets.token_hex(32))'）。"
            " / FINPORTAL_SECRET_KEY is too short: production needs at least 32 characters."
        )
    if key:
        return key
    if production:
        raise ConfigError(
            "生产环境必须设置 FINPORTAL_SECRET_KEY。"
            " / FINPORTAL_SECRET_KEY must be set in production."
        )
    # Generated once and kept, so sessions survive a restart of the development server.
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _trusted_hosts(production: bool) -> list[str] | None:
    """Return the host names the portal answers to in production (None: any, in development).

    Absolute addresses the portal prints (a packet's verification URL) come from
    ``FINPORTAL_BASE_URL``, never from a request's ``Host`` header; in production that
    address's host, plus any listed in ``FINPORTAL_TRUSTED_HOSTS`` (comma-separated), are the
    only hosts answered: a request for another gets a 400.
    """
    if not production:
        return None
    base_url = os.environ.get("FINPORTAL_BASE_URL", "")
    host = urlsplit(base_url).hostname if base_url else None
    if not host:
        raise ConfigError(
            "生产环境必须设置 FINPORTAL_BASE_URL（平台的公开地址，如 https://fin.example.cn），"
            "推荐材料包上的核验地址和可信主机名都取自它。"
            " / FINPORTAL_BASE_URL must be set in production (the portal's public address)."
        )
    extra = os.environ.get("FINPORTAL_TRUSTED_HOSTS", "")
    return [host, *(h.strip() for h in extra.split(",") if h.strip())]


def _seal_path(value: str) -> str:
    """Return the configured seal image's path, refusing one that cannot be printed."""
    if not value:
        return ""
    seal = Path(value)
    if seal.suffix.lower() not in (".svg", ".png") or not seal.is_file():
        raise ConfigError(
            f"FINPORTAL_PACKET_SEAL 应为一个存在的 SVG 或 PNG 文件：{value}"
            f" / FINPORTAL_PACKET_SEAL must name an existing SVG or PNG file: {value}"
        )
    return str(seal.resolve())


def _redis_use_url(variable: str, redis_url: str | None) -> str | None:
    """Return the Redis one use of it is given: ``variable`` names another, or "off"; else
    the portal's Redis (None without one)."""
    url = os.environ.get(variable) or redis_url
    return None if not url or url == "off" else url


def _page_cache_max_bytes() -> int:
    """Return the memory the page cache may hold in Redis, from ``FINPORTAL_PAGE_CACHE_MAX_MB``."""
    value = os.environ.get("FINPORTAL_PAGE_CACHE_MAX_MB") or "384"
    try:
        megabytes = int(value)
    except ValueError:
        megabytes = 0
    if megabytes < 1:
        raise ConfigError(
            f"FINPORTAL_PAGE_CACHE_MAX_MB 应为正整数（兆字节）：{value}"
            f" / FINPORTAL_PAGE_CACHE_MAX_MB must be a whole number of megabytes above 0: {value}"
        )
    return megabytes * 1024 * 1024


def load_config(instance_path: str) -> dict[str, object]:
    """Build the Flask configuration from the environment."""
    path = Path(instance_path)
    env = os.environ.get("FINPORTAL_ENV", "development")
    production = env == "production"
    database_url = os.environ.get("FINPORTAL_DATABASE_URL") or f"sqlite:///{path / 'finportal.db'}"
    redis_url = os.environ.get("FINPORTAL_REDIS_URL") or None
    # Secure cookies travel over HTTPS only: on in production (TLS ends at the proxy), off
    # for a production stack tried on plain HTTP on loopback (scripts/prod.sh says so).
    secure = os.environ.get("FINPORTAL_COOKIE_SECURE", "1" if production else "0") == "1"
    return {
        "ENV_NAME": env,
        "SECRET_KEY": _secret_key(path, production),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # Pages a reader opens again unchanged, kept in Redis (finportal/page_cache.py): on
        # with Redis; FINPORTAL_PAGE_CACHE_URL names another Redis, or "off".
        "PAGE_CACHE_URL": _redis_use_url("FINPORTAL_PAGE_CACHE_URL", redis_url),
        # Audit events that change no record (a referral opened again) queued in Redis and
        # written to the trail seconds later (finportal/audit_queue.py): on with Redis;
        # FINPORTAL_AUDIT_QUEUE_URL names another Redis, or "off" (written in the request).
        "AUDIT_QUEUE_URL": _redis_use_url("FINPORTAL_AUDIT_QUEUE_URL", redis_url),
        # What its kept pages may hold in that Redis at most, in bytes (page_cache._KEEP_SCRIPT).
        "PAGE_CACHE_MAX_BYTES": _page_cache_max_bytes(),
        # "thread" runs jobs in a background thread of this process; "rq" uses Redis workers;
        # "eager" runs them at once (tests).
        "JOBS_MODE": os.environ.get("FINPORTAL_JOBS_MODE") or ("rq" if redis_url else "thread"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_SUPPORTED_LOCALES": ["zh_CN", "en"],
        "MAX_CONTENT_LENGTH": limits.REQUEST_MAX_BYTES,
        "TRUSTED_HOSTS": _trusted_hosts(production),
        # Counted in Redis when configured, so every gunicorn worker shares one count; if Redis
        # goes away each worker counts in memory until it is back.
        "RATELIMIT_STORAGE_URI": os.environ.get("FINPORTAL_RATELIMIT_STORAGE_URI")
        or redis_url
        or "memory://",
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}
        if redis_url
        else {},
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # "json" (one JSON object per line, with the request id) or "text"; unset leaves
        # logging as Python configures it. See finportal/observability.py.
        "LOG_FORMAT": os.environ.get("FINPORTAL_LOG_FORMAT") or None,
        "LOG_LEVEL": os.environ.get("FINPORTAL_LOG_LEVEL", "INFO"),
        "ACCESS_LOG": os.environ.get("FINPORTAL_ACCESS_LOG", "1") == "1",
        # Lets a scraper reach /metrics from another machine (else loopback only).
        "METRICS_TOKEN": os.environ.get("FINPORTAL_METRICS_TOKEN") or None,
        "LOGIN_RATE_LIMIT": os.environ.get("FINPORTAL_LOGIN_RATE_LIMIT", "10 per minute"),
        # Packet previews one user may ask for: each renders a PDF in the web worker (about
        # half a second of a core), so a burst of clicks cannot hold every worker.
        "PREVIEW_RATE_LIMIT": os.environ.get("FINPORTAL_PREVIEW_RATE_LIMIT", "10 per minute"),
        # Failed sign-ins from one address across all usernames (password spraying).
        "LOGIN_IP_RATE_LIMIT": os.environ.get("FINPORTAL_LOGIN_IP_RATE_LIMIT", "50 per hour"),
        # How many reverse proxies in front of the portal set X-Forwarded-For/-Proto (0: none,
        # trust no such header); the sign-in throttle counts per client address.
        "PROXY_COUNT": int(os.environ.get("FINPORTAL_PROXY_COUNT") or 0),
        "MODEL_DIR": os.environ.get("FINPORTAL_MODEL_DIR") or str(path / "models"),
        "PACKET_DIR": os.environ.get("FINPORTAL_PACKET_DIR") or str(path / "packets"),
        # The portal's public address: packets print <BASE_URL>/verify/<code> and its QR code;
        # e-mails link to it. Empty: read from the environment when needed, else the
        # development address (``packet_context.default_base_url``, the one reader).
        "BASE_URL": os.environ.get("FINPORTAL_BASE_URL") or "",
        # The centre's seal printed on packets (an SVG or PNG file); unset: the shipped
        # placeholder (finportal/packets/assets/seal-placeholder.svg), marked 样章.
        "PACKET_SEAL": _seal_path(os.environ.get("FINPORTAL_PACKET_SEAL") or ""),
        "DOCUMENT_DIR": os.environ.get("FINPORTAL_DOCUMENT_DIR") or str(path / "documents"),
        # issue 14: "local" (the folders above) or "s3" (an S3-compatible object store for
        # documents and packets; finportal/storage.py, docs/OPERATIONS.md "File storage").
        "STORAGE": os.environ.get("FINPORTAL_STORAGE", "local"),
        "S3_ENDPOINT_URL": os.environ.get("FINPORTAL_S3_ENDPOINT_URL") or None,
        "S3_BUCKET": os.environ.get("FINPORTAL_S3_BUCKET") or None,
        "S3_REGION": os.environ.get("FINPORTAL_S3_REGION") or "us-east-1",
        "S3_PREFIX": os.environ.get("FINPORTAL_S3_PREFIX", ""),
        # The virus scanner run on every upload: a command that reads the file on stdin and
        # exits 0 (clean) or 1 (infected). Unset: clamdscan, else clamscan, when installed;
        # without either the upload is stored and marked 未扫描 (services/documents.py).
        "VIRUS_SCAN_COMMAND": os.environ.get("FINPORTAL_VIRUS_SCAN_COMMAND") or None,
        # Registrations per address: enough for an office, too few to enumerate codes.
        "REGISTER_RATE_LIMIT": os.environ.get("FINPORTAL_REGISTER_RATE_LIMIT", "10 per hour"),
        "WTF_CSRF_TIME_LIMIT": None,
        # The dashboard page reads the summary a periodic job computes while it is younger
        # than this (services/dashboard_cache.py); 0 computes it on every request.
        "DASHBOARD_MAX_AGE_SECONDS": float(os.environ.get("FINPORTAL_DASHBOARD_MAX_AGE") or 300),
        # The fairness monitor page likewise (services/monitor_cache.py; its task runs hourly).
        "MONITOR_MAX_AGE_SECONDS": float(os.environ.get("FINPORTAL_MONITOR_MAX_AGE") or 86400),
        # issue 15: notifications beyond the portal (docs/OPERATIONS.md, "Notifications").
        # E-mail over SMTP; without a host, e-mail is only logged (like SMS and WeChat).
        "SMTP_HOST": os.environ.get("FINPORTAL_SMTP_HOST") or None,
        "SMTP_PORT": int(os.environ.get("FINPORTAL_SMTP_PORT") or 587),
        # "starttls", "ssl" (implicit TLS, usually port 465) or "none" (a relay on loopback).
        "SMTP_SECURITY": os.environ.get("FINPORTAL_SMTP_SECURITY", "starttls"),
        "SMTP_USERNAME": os.environ.get("FINPORTAL_SMTP_USERNAME") or None,
        "SMTP_PASSWORD": os.environ.get("FINPORTAL_SMTP_PASSWORD") or None,
        "SMTP_FROM": os.environ.get(
            "FINPORTAL_SMTP_FROM", "闵行区融资服务平台 <noreply@localhost>"
        ),
        "SMTP_TIMEOUT": float(os.environ.get("FINPORTAL_SMTP_TIMEOUT") or 10),
        # The SMS and WeChat gateways: a dotted path to a class (services/channels.py).
        # issue 14: the district data-exchange API (docs/PUBLIC_DATA.md); unset: files only.
        "PUBLIC_DATA_URL": os.environ.get("FINPORTAL_PUBLIC_DATA_URL") or None,
        "PUBLIC_DATA_TOKEN": os.environ.get("FINPORTAL_PUBLIC_DATA_TOKEN") or None,
        "SMS_GATEWAY": os.environ.get("FINPORTAL_SMS_GATEWAY") or None,
        "WECHAT_GATEWAY": os.environ.get("FINPORTAL_WECHAT_GATEWAY") or None,
    }
