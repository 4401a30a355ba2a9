"""Configuration read from the environment (``FINPORTAL_*`` variables)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


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
        "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Shared through Redis by every worker and machine; if Redis goes away, limits fall
        # back to each process's memory instead of failing the request.
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
        "MODEL_DIR": os.environ.get("FINPORTAL_MODEL_DIR") or str(path / "models"),
        "PACKET_DIR": os.environ.get("FINPORTAL_PACKET_DIR") or str(path / "packets"),
        "DOCUMENT_DIR": os.environ.get("FINPORTAL_DOCUMENT_DIR") or str(path / "documents"),
        # Registrations per address: enough for an office, too few to enumerate codes.
        "REGISTER_RATE_LIMIT": os.environ.get("FINPORTAL_REGISTER_RATE_LIMIT", "10 per hour"),
        "WTF_CSRF_TIME_LIMIT": None,
    }
