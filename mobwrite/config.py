"""Settings, read once from the environment (names as in README.md).

Every default of the service lives here and nowhere else."""

import dataclasses
import os


def _on_app_engine(environ):
    return bool(environ.get("GAE_ENV", "").startswith("standard") or environ.get("GAE_APPLICATION"))


def _flag(environ, name, default):
    raw = environ.get(name, "").strip().lower()
    return default if not raw else raw not in ("0", "off", "false", "no")


@dataclasses.dataclass(frozen=True)
class Settings:
    store: str = "sqlite"
    sqlite_path: str = "instance/mobwrite.sqlite3"
    project: str = "mobwrite-local"
    namespace: str = ""  # a Datastore namespace: several deployments (or test runs) in one project
    datastore_retries: int = 3
    redis_url: str = ""
    memcached_hosts: str = ""
    max_chars: int = 100_000
    diff_timeout: float = 0.1
    timeout_view: float = 30 * 60
    timeout_text: float = 24 * 60 * 60
    timeout_buffer: float = 15 * 60
    max_body: int = 4 * 1024 * 1024
    buffer_max_fragments: int = 1000
    buffer_max_bytes: int = 2 * 1024 * 1024
    admin_token: str = ""
    cors_origin: str = "*"
    editor_url: str = "/static/mobwrite/index.html"  # the landing page, out of mobwrite.zip
    log_level: str = "INFO"
    on_app_engine: bool = False
    host: str = "127.0.0.1"  # where `python main.py` serves; App Engine runs app.yaml's entrypoint instead
    port: int = 8080
    workers: int = 2
    threads: int = 4
    # History and presence (issue 13; README "History" and "Presence").
    history: bool = True
    history_interval: float = 30.0
    history_max_change: int = 500
    history_keep_all_days: float = 7.0
    history_keep_daily_days: float = 90.0
    presence: bool = True
    presence_timeout: float = 30.0
    presence_refresh: float = 5.0

    @classmethod
    def from_env(cls, environ=None):
        env = os.environ if environ is None else environ
        on_gae = _on_app_engine(env)
        default_store = "datastore" if (on_gae or env.get("DATASTORE_EMULATOR_HOST")) else "sqlite"

        def num(name, default, kind=int):
            raw = env.get(name)
            return default if raw in (None, "") else kind(raw)

        return cls(
            store=env.get("MOBWRITE_STORE") or default_store,
            sqlite_path=env.get("MOBWRITE_SQLITE_PATH") or cls.sqlite_path,
            project=env.get("GOOGLE_CLOUD_PROJECT") or env.get("DATASTORE_PROJECT_ID") or cls.project,
            namespace=env.get("MOBWRITE_DATASTORE_NAMESPACE", cls.namespace),
            datastore_retries=num("MOBWRITE_DATASTORE_RETRIES", cls.datastore_retries),
            redis_url=env.get("REDIS_CACHE_URL", ""),
            memcached_hosts=env.get("MEMCACHED_HOSTS", ""),
            max_chars=num("MOBWRITE_MAX_CHARS", cls.max_chars),
            diff_timeout=num("MOBWRITE_DIFF_TIMEOUT", cls.diff_timeout, float),
            timeout_view=num("MOBWRITE_TIMEOUT_VIEW", cls.timeout_view, float),
            timeout_text=num("MOBWRITE_TIMEOUT_TEXT", cls.timeout_text, float),
            timeout_buffer=num("MOBWRITE_TIMEOUT_BUFFER", cls.timeout_buffer, float),
            max_body=num("MOBWRITE_MAX_BODY", cls.max_body),
            buffer_max_fragments=num("MOBWRITE_BUFFER_MAX_FRAGMENTS", cls.buffer_max_fragments),
            buffer_max_bytes=num("MOBWRITE_BUFFER_MAX_BYTES", cls.buffer_max_bytes),
            admin_token=env.get("MOBWRITE_ADMIN_TOKEN", ""),
            cors_origin=env.get("MOBWRITE_CORS_ORIGIN", cls.cors_origin),
            editor_url=env.get("MOBWRITE_EDITOR_URL") or cls.editor_url,
            log_level=env.get("MOBWRITE_LOG_LEVEL") or cls.log_level,
            on_app_engine=on_gae,
            host=env.get("HOST") or cls.host,
            port=num("PORT", cls.port),
            workers=num("WEB_CONCURRENCY", cls.workers),
            threads=num("MOBWRITE_THREADS", cls.threads),
            history=_flag(env, "MOBWRITE_HISTORY", cls.history),
            history_interval=num("MOBWRITE_HISTORY_INTERVAL", cls.history_interval, float),
            history_max_change=num("MOBWRITE_HISTORY_MAX_CHANGE", cls.history_max_change),
            history_keep_all_days=num("MOBWRITE_HISTORY_KEEP_ALL_DAYS", cls.history_keep_all_days, float),
            history_keep_daily_days=num("MOBWRITE_HISTORY_KEEP_DAILY_DAYS", cls.history_keep_daily_days, float),
            presence=_flag(env, "MOBWRITE_PRESENCE", cls.presence),
            presence_timeout=num("MOBWRITE_PRESENCE_TIMEOUT", cls.presence_timeout, float),
            presence_refresh=num("MOBWRITE_PRESENCE_REFRESH", cls.presence_refresh, float),
        )
