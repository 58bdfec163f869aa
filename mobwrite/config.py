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
    datastore_retries: int = 8  # a contended edit runs again after a short random pause, up to ~5 s in all
    datastore_transport: str = "grpc"  # the sync path's calls: grpc (ndb's channel) or http (protobuf over HTTP/1.1)
    redis_url: str = ""
    memcached_hosts: str = ""
    cache_timeout: float = 0.5  # seconds a cache call may take before the cache counts as away
    cache_retry: float = 1.0    # seconds between tries of a cache that is away (syncs go on from Datastore)
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
    fast_path: bool = True  # syncs answered in front of Flask (mobwrite/fastpath.py); same answers
    on_app_engine: bool = False
    host: str = "127.0.0.1"  # where `python main.py` serves; App Engine runs app.yaml's entrypoint instead
    port: int = 8080
    workers: int = 2
    threads: int = 4
    # Access control and limits (issue 12; README "Private documents").
    access: str = "open"           # or "tokens"
    token_prefixes: str = ""       # under tokens: only names under these need a token ("" = all)
    token_key: str = ""            # signs tokens; keep it secret (Secret Manager / env_variables)
    token_key_previous: str = ""   # still accepted: the key before the last rotation
    rate_window: float = 60.0      # seconds per fixed window
    rate_ip: int = 6000            # HTTP requests per client IP per window (0: no limit); a NAT'd office shares one
    rate_user: int = 600           # requests per user id per window
    rate_doc_edits: int = 3000     # writing requests per document per window: 50 typists at 1 sync/s
    max_docs_per_request: int = 100
    max_names_per_user: int = 1000  # documents one user id may open per window
    # History and presence (issue 13; README "History" and "Presence").
    history: bool = True
    history_interval: float = 30.0
    history_max_change: int = 500
    history_keep_all_days: float = 7.0
    history_keep_daily_days: float = 90.0
    presence: bool = True
    presence_timeout: float = 30.0
    presence_refresh: float = 5.0
    # Push wake-ups (issue 11; README "Push").
    push: bool = True
    push_timeout: float = 30.0      # a wait's longest hold: under App Engine's 60 s request limit
    push_waiters: int = -1          # held waits per process; -1: 1000 under the gevent worker, 0 (off) under threads
    push_max_docs: int = 50         # documents one wait may name
    push_check: float = 0.025       # seconds between a process's checks of the SQLite or memcached board
    worker: str = "gevent"          # gunicorn worker class for `python main.py`: gevent (push) or gthread

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
            datastore_transport=env.get("MOBWRITE_DATASTORE_TRANSPORT") or cls.datastore_transport,
            redis_url=env.get("REDIS_CACHE_URL", ""),
            memcached_hosts=env.get("MEMCACHED_HOSTS", ""),
            cache_timeout=num("MOBWRITE_CACHE_TIMEOUT", cls.cache_timeout, float),
            cache_retry=num("MOBWRITE_CACHE_RETRY", cls.cache_retry, float),
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
            fast_path=env.get("MOBWRITE_FAST_PATH", "1") != "0",
            on_app_engine=on_gae,
            host=env.get("HOST") or cls.host,
            port=num("PORT", cls.port),
            workers=num("WEB_CONCURRENCY", cls.workers),
            threads=num("MOBWRITE_THREADS", cls.threads),
            **_access_from_env(env, num),
            history=_flag(env, "MOBWRITE_HISTORY", cls.history),
            history_interval=num("MOBWRITE_HISTORY_INTERVAL", cls.history_interval, float),
            history_max_change=num("MOBWRITE_HISTORY_MAX_CHANGE", cls.history_max_change),
            history_keep_all_days=num("MOBWRITE_HISTORY_KEEP_ALL_DAYS", cls.history_keep_all_days, float),
            history_keep_daily_days=num("MOBWRITE_HISTORY_KEEP_DAILY_DAYS", cls.history_keep_daily_days, float),
            presence=_flag(env, "MOBWRITE_PRESENCE", cls.presence),
            presence_timeout=num("MOBWRITE_PRESENCE_TIMEOUT", cls.presence_timeout, float),
            presence_refresh=num("MOBWRITE_PRESENCE_REFRESH", cls.presence_refresh, float),
            push=_flag(env, "MOBWRITE_PUSH", cls.push),
            push_timeout=num("MOBWRITE_PUSH_TIMEOUT", cls.push_timeout, float),
            push_waiters=num("MOBWRITE_PUSH_WAITERS", cls.push_waiters),
            push_max_docs=num("MOBWRITE_PUSH_MAX_DOCS", cls.push_max_docs),
            push_check=num("MOBWRITE_PUSH_CHECK", cls.push_check, float),
            worker=env.get("MOBWRITE_WORKER") or cls.worker,
        )


def _access_from_env(env, num):
    """Issue 12's settings: access policy, token keys, rate limits."""
    return dict(
        access=env.get("MOBWRITE_ACCESS") or Settings.access,
        token_prefixes=env.get("MOBWRITE_TOKEN_PREFIXES", Settings.token_prefixes),
        token_key=env.get("MOBWRITE_TOKEN_KEY", ""),
        token_key_previous=env.get("MOBWRITE_TOKEN_KEY_PREVIOUS", ""),
        rate_window=num("MOBWRITE_RATE_WINDOW", Settings.rate_window, float),
        rate_ip=num("MOBWRITE_RATE_IP", Settings.rate_ip),
        rate_user=num("MOBWRITE_RATE_USER", Settings.rate_user),
        rate_doc_edits=num("MOBWRITE_RATE_DOC_EDITS", Settings.rate_doc_edits),
        max_docs_per_request=num("MOBWRITE_MAX_DOCS_PER_REQUEST", Settings.max_docs_per_request),
        max_names_per_user=num("MOBWRITE_MAX_NAMES_PER_USER", Settings.max_names_per_user),
    )
