"""Settings: one typed tree with sections, the only place that reads the environment.

Built once by the CLI (``Settings.load``) and handed down as an argument. Environment
variables: ``MODELYARD_HOME``, ``DATABASE_URL``, ``MODELYARD_URL``, ``MODELYARD_API_KEY``,
and any field as ``MODELYARD_<SECTION>__<FIELD>`` (for example
``MODELYARD_GATEWAY__MAX_BODY_BYTES``).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseModel):
    """The control plane."""

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8080, description="Port to listen on.")
    max_upload_bytes: int = Field(8 * 1024**3, description="Largest artifact upload accepted.")
    max_body_bytes: int = Field(1024 * 1024, description="Largest JSON body on the REST API.")
    route_watch_timeout_s: float = Field(30.0, description="Longest a route long poll waits.")


class GatewaySettings(BaseModel):
    """The data plane."""

    server_url: str = Field("", description="Control plane URL when run as its own process.")
    max_body_bytes: int = Field(16 * 1024 * 1024, description="Largest inference body (413 past it).")
    connect_timeout_s: float = Field(2.0, description="Connect timeout to a replica.")
    read_timeout_s: float = Field(60.0, description="Read timeout from a replica.")
    max_connect_retries: int = Field(2, description="Other replicas tried after a connect failure.")
    retry_after_s: int = Field(1, description="Retry-After sent with 503 no_ready_replica.")
    route_poll_error_backoff_s: float = Field(1.0, description="Wait after a failed route poll.")
    ca_file: str = Field("", description="CA bundle that verifies an HTTPS server_url; "
                                          "empty = the system's trust store.")
    max_concurrency_per_replica: int = Field(
        64, description="Requests in flight per replica before requests queue.")
    max_queue: int = Field(256, description="Requests waiting per deployment; 429 overloaded past it.")
    max_queue_wait_s: float = Field(
        5.0, description="Longest a request may wait in the queue (429 overloaded when expected longer).")
    key_requests_per_minute: int = Field(0, description="Requests per minute per API key; 0 = no limit.")
    key_tokens_per_minute: int = Field(
        0, description="LLM tokens (prompt + completion) per minute per API key; 0 = no limit.")
    team_requests_per_minute: int = Field(0, description="Requests per minute per team; 0 = no limit.")
    team_tokens_per_minute: int = Field(0, description="LLM tokens per minute per team; 0 = no limit.")
    limiter_url: str = Field("", description="redis://host:port/db shares rate limits between "
                                             "gateways; empty = in each gateway process.")
    balancer: str = Field("p2c", description="'p2c' (least outstanding, two choices) or 'prefix' "
                                             "(LLM prompt-prefix affinity, falls back to p2c).")
    prefix_chars: int = Field(256, description="Prompt characters hashed for prefix affinity.")
    prefix_slack: int = Field(8, description="Outstanding requests a preferred replica may have "
                                             "over the least loaded before affinity yields.")
    eject_after_failures: int = Field(5, description="Consecutive failures that eject a replica.")
    eject_s: float = Field(10.0, description="How long an ejected replica gets no requests.")
    retry_budget_ratio: float = Field(0.2, description="Retries allowed as a share of requests.")
    retry_budget_window_s: float = Field(10.0, description="Window of the retry budget.")
    max_header_count: int = Field(100, description="Most request headers (431 past it).")
    max_header_bytes: int = Field(16 * 1024, description="Largest total header size (431 past it).")
    access_log: bool = Field(True, description="One JSON line per request on stderr.")
    workers: int = Field(1, description="Gateway processes sharing the port (SO_REUSEPORT).")


class StoreSettings(BaseModel):
    """Where state lives."""

    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite in home.")


class LocalBackendSettings(BaseModel):
    """Local process supervision."""

    stop_grace_s: float = Field(10.0, description="SIGTERM to SIGKILL wait when stopping.")
    probe_timeout_s: float = Field(1.0, description="Timeout of one readiness probe.")
    start_timeout_s: float = Field(120.0, description="Longest a replica may take to get Ready.")
    restart_base_s: float = Field(1.0, description="First restart delay after a crash.")
    restart_max_s: float = Field(60.0, description="Largest restart delay.")
    crash_loop_after: int = Field(5, description="Consecutive crashes before crash_loop.")
    python: str = Field("", description="Python interpreter for replicas; empty = this one.")
    node_name: str = Field("", description="This node's name in the inventory; empty = hostname.")


class ControllerSettings(BaseModel):
    """Reconcile loops."""

    resync_s: float = Field(0.5, description="Period of the full resync of every key.")
    drain_delay_s: float = Field(
        1.0, description="Wait between taking a replica out of the route table and stopping it.")


class RolloutSettings(BaseModel):
    """Rollouts and the statistics their analysis reads."""

    stats_report_interval_s: float = Field(
        1.0, description="How often a gateway running alone reports per-revision stats.")
    stats_stale_after_s: float = Field(
        600.0, description="Forget a gateway's stats report after this long without news.")


class MeteringSettings(BaseModel):
    """Usage records and replica time."""

    flush_interval_s: float = Field(1.0, description="How often a gateway writes usage records.")
    batch_size: int = Field(2000, description="Most usage records written in one batch.")
    max_queue: int = Field(100_000, description="Usage records a gateway holds before dropping.")
    accrue_interval_s: float = Field(5.0, description="How often replica time is accrued.")


class CostSettings(BaseModel):
    """Prices that turn replica time into cost (one currency, your choice)."""

    gpu_hour: dict[str, float] = Field(
        default_factory=dict, description='Price per GPU-hour by GPU model, e.g. {"H100": 4.0}.')
    default_gpu_hour: float = Field(2.0, description="Price per GPU-hour of an unlisted model.")
    cpu_hour: float = Field(0.05, description="Price per replica CPU-hour.")


class DriftSettings(BaseModel):
    """Sampling of tabular traffic and the drift controller."""

    sample_rate: float = Field(0.1, ge=0, le=1,
                               description="Share of tabular requests a gateway samples (0 = off).")
    max_queue: int = Field(10_000, description="Samples a gateway holds before dropping.")
    keep_samples: int = Field(20_000, description="Samples kept per deployment in the store.")
    window_size: int = Field(500, description="Newest samples compared with the reference.")
    reference_size: int = Field(500, description="Samples taken as the reference when none "
                                                 "was registered (the first window of traffic).")
    min_samples: int = Field(50, description="Samples a window needs before it is judged.")
    psi_threshold: float = Field(0.25, description="PSI at or above which a feature drifted.")
    ks_alpha: float = Field(0.001, description="KS p-value below which a feature drifted.")
    interval_s: float = Field(10.0, description="How often each deployment is judged.")
    llm_window_s: float = Field(3600.0, description="LLM routes: the window compared with "
                                                    "the one before it.")


class Settings(BaseSettings):
    """The whole configuration tree."""

    model_config = SettingsConfigDict(env_prefix="MODELYARD_", env_nested_delimiter="__")

    home: Path = Field(Path("~/.modelyard"), description="State, artifacts and logs.")
    server: ServerSettings = ServerSettings()
    gateway: GatewaySettings = GatewaySettings()
    store: StoreSettings = StoreSettings()
    local: LocalBackendSettings = LocalBackendSettings()
    controllers: ControllerSettings = ControllerSettings()
    rollouts: RolloutSettings = RolloutSettings()
    metering: MeteringSettings = MeteringSettings()
    costs: CostSettings = CostSettings()
    drift: DriftSettings = DriftSettings()

    @classmethod
    def load(cls, home: Path | None = None) -> Settings:
        """Build settings from the environment, with ``home`` overriding MODELYARD_HOME."""
        settings = cls()
        if home is not None:
            settings.home = home
        settings.home = settings.home.expanduser().resolve()
        if not settings.store.database_url:
            settings.store.database_url = os.environ.get("DATABASE_URL", "")
        return settings

    @property
    def database_url(self) -> str:
        """The store URL: DATABASE_URL, else SQLite under home."""
        return self.store.database_url or f"sqlite+aiosqlite:///{self.home / 'modelyard.db'}"

    @property
    def artifacts_dir(self) -> Path:
        """Content-addressed artifact store."""
        return self.home / "artifacts"

    @property
    def logs_dir(self) -> Path:
        """Replica and server logs."""
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        """Records of running replica processes (for adoption)."""
        return self.home / "run"

    @property
    def admin_key_file(self) -> Path:
        """Where the first admin key is written (mode 0600)."""
        return self.home / "admin.key"


def upstream_key(variable: str) -> str | None:
    """The upstream API key of an external endpoint: the gateway's environment variable."""
    return os.environ.get(variable) or None if variable else None


def client_defaults() -> tuple[str, str | None, Path]:
    """Return the CLI's ``(url, api key, home)`` from the environment."""
    home = Path(os.environ.get("MODELYARD_HOME", "~/.modelyard")).expanduser()
    url = os.environ.get("MODELYARD_URL", "http://127.0.0.1:8080")
    return url, os.environ.get("MODELYARD_API_KEY"), home
