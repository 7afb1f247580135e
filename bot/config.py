"""Settings read from the environment, with embedded defaults that run out of the box."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_API_BASE = "https://api.telegram.org/bot"
DEFAULT_FILE_BASE = "https://api.telegram.org/file/bot"
DEFAULT_ZALO_API_BASE = "https://bot-api.zaloplatforms.com"


def _bot_suffixed(url: str, suffix: str) -> str:
    """Accept both 'http://host' and 'http://host/bot' forms; python-telegram-bot wants the latter."""
    url = url.rstrip("/")
    return url if url.endswith(suffix) else url + suffix


def _flag(value: str | None) -> bool | None:
    """'1'/'true'/'yes'/'on' → True, '0'/'false'/'no'/'off' → False, unset or empty → None."""
    if value is None or not value.strip():
        return None
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything the operator can configure."""

    telegram_token: str | None = None
    telegram_api_base_url: str = DEFAULT_API_BASE
    telegram_file_base_url: str = DEFAULT_FILE_BASE
    database_url: str = "sqlite:///db.sqlite"
    bot_username: str = "congdoan_bot"
    default_language: str = "vi"
    invite_valid_days: int = 30
    send_rate_per_second: float = 29.0  # Telegram allows about 30 messages a second per bot
    reply_rate_per_second: float = 29.0  # replies to people; Telegram's cap (raised only against a local stand-in, in benchmarks)
    retry_hours: float = 24.0  # network trouble and 5xx: a push is retried until it is this old, then failed
    outbox_keep_days: float = 30.0  # delivered pushes lose their payload after this (0: never); the key stays
    poll_timeout: int = 10
    planner_interval: int = 60  # seconds between planner runs; 0 turns the in-process planner off
    leader_interval: float = 5.0  # PostgreSQL: seconds between leadership checks (a dead leader is replaced within it)
    progress_interval: float = 3.0  # seconds between edits of a notice's progress message
    db_busy_timeout: float = 30.0  # SQLite: how long a write waits for another process's lock before it fails
    min_coverage: float = 50.0  # percent of expected units below which a roll-up shows no attainment
    data_dir: str = "data"  # files the bot keeps (notice attachments, exports behind signed links)
    public_base_url: str | None = None  # https address a reverse proxy exposes; webhooks when set
    http_port: int | None = None  # the bot's HTTP server (webhooks, /f/ links, /healthz); off when None
    http_host: str = "127.0.0.1"
    link_secret: str | None = None  # HMAC key of signed file links (a random one kept in data_dir when unset)
    link_max_age: int = 7 * 24 * 3600  # seconds a signed file link stays valid
    telegram_webhook_secret: str | None = None  # secret_token of Telegram's setWebhook (random when unset)
    zalo_token: str | None = None
    zalo_api_base_url: str = DEFAULT_ZALO_API_BASE
    zalo_webhook_secret: str | None = None
    playground: bool | None = None  # the browser playground: None = on when no channel token is set
    playground_database_url: str | None = None  # its own database (default: playground.sqlite in data_dir)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        """Build settings from environment variables (or a given mapping)."""
        env = dict(os.environ if env is None else env)
        api = env.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE
        files = env.get("TELEGRAM_FILE_BASE_URL")
        if not files:
            files = (
                DEFAULT_FILE_BASE
                if api == DEFAULT_API_BASE
                else _bot_suffixed(api.rstrip("/").removesuffix("/bot"), "/file/bot")
            )
        return cls(
            telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_base_url=_bot_suffixed(api, "/bot"),
            telegram_file_base_url=_bot_suffixed(files, "/file/bot"),
            database_url=env.get("DATABASE_URL") or "sqlite:///db.sqlite",
            bot_username=env.get("TELEGRAM_BOT_USERNAME") or "congdoan_bot",
            default_language=env.get("CONGDOAN_LANGUAGE") or "vi",
            invite_valid_days=int(env.get("CONGDOAN_INVITE_DAYS") or 30),
            send_rate_per_second=float(env.get("CONGDOAN_SEND_RATE") or 29),
            reply_rate_per_second=float(env.get("CONGDOAN_REPLY_RATE") or 29),
            retry_hours=float(env.get("CONGDOAN_RETRY_HOURS") or 24),
            outbox_keep_days=float(env.get("CONGDOAN_OUTBOX_KEEP_DAYS") or 30),
            poll_timeout=int(env.get("CONGDOAN_POLL_TIMEOUT") or 10),
            planner_interval=int(env.get("CONGDOAN_PLANNER_INTERVAL") or 60),
            progress_interval=float(env.get("CONGDOAN_PROGRESS_INTERVAL") or 3),
            leader_interval=float(env.get("CONGDOAN_LEADER_INTERVAL") or 5),
            db_busy_timeout=float(env.get("CONGDOAN_DB_BUSY_TIMEOUT") or 30),
            min_coverage=float(env.get("CONGDOAN_MIN_COVERAGE") or 50),
            data_dir=env.get("CONGDOAN_DATA_DIR") or "data",
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            http_port=int(env["CONGDOAN_HTTP_PORT"]) if env.get("CONGDOAN_HTTP_PORT") else None,
            http_host=env.get("CONGDOAN_HTTP_HOST") or "127.0.0.1",
            link_secret=env.get("CONGDOAN_LINK_SECRET") or None,
            link_max_age=int(env.get("CONGDOAN_LINK_MAX_AGE") or 7 * 24 * 3600),
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            zalo_token=env.get("ZALO_BOT_TOKEN") or None,
            zalo_api_base_url=(env.get("ZALO_API_BASE_URL") or DEFAULT_ZALO_API_BASE).rstrip("/"),
            zalo_webhook_secret=env.get("ZALO_WEBHOOK_SECRET") or None,
            playground=_flag(env.get("CONGDOAN_PLAYGROUND")),
            playground_database_url=env.get("CONGDOAN_PLAYGROUND_DATABASE_URL") or None,
        )

    @property
    def http_enabled(self) -> bool:
        """The HTTP server runs when a port or a public address is configured."""
        return self.http_port is not None or self.public_base_url is not None

    @property
    def sandbox_database_url(self) -> str:
        """The playground's own database: never the one real people are in."""
        if self.playground_database_url:
            return self.playground_database_url
        from pathlib import Path

        return f"sqlite:///{Path(self.data_dir) / 'playground.sqlite'}"
