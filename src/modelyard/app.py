"""Composition root: builds store, backend, controllers, gateway and API from Settings.

The only module that picks concrete implementations. ``Platform`` is one process: the
control plane, the gateway, or both (``modelyard up``) behind one ASGI dispatcher:
``/api/*`` → REST API, ``/metrics``, ``/healthz``, ``/readyz`` → ops, anything else →
gateway.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from dataclasses import dataclass, replace
from typing import Any

from starlette.applications import Starlette

from modelyard.api.app import build_api_app
from modelyard.api.deps import ControlPlane
from modelyard.api.limits import BodyLimit, send_error
from modelyard.backends.discovery import discover_local_node
from modelyard.backends.local import LocalBackend
from modelyard.config import Settings
from modelyard.controllers.base import Reconciler
from modelyard.controllers.deployments import DeploymentController
from modelyard.controllers.drift import DriftConfig, DriftController
from modelyard.controllers.endpoint_probe import EndpointProber
from modelyard.controllers.engine_metrics import EngineMetricsScraper
from modelyard.controllers.manager import Manager
from modelyard.controllers.metering import ResourceMeter, StoreUsageSink
from modelyard.controllers.observed import ObservedState
from modelyard.controllers.replica_steps import StepInputs
from modelyard.controllers.replicas import ReplicaController
from modelyard.controllers.revision_stats import RevisionStatsBook
from modelyard.controllers.rollouts import RolloutController
from modelyard.controllers.routing import RouteFeed, RoutingController
from modelyard.domain.audit import AuditDraft
from modelyard.domain.clock import SystemClock
from modelyard.domain.costs import Prices
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.inventory import Gpu, Node
from modelyard.domain.nodes import NodeRecord, NodeSource
from modelyard.domain.replicas import RestartPolicy
from modelyard.domain.tenancy import DEFAULT_TEAM, ApiKey, Role, generate_key
from modelyard.gateway.app import Gateway, build_gateway_app
from modelyard.gateway.limiter import LimiterStore
from modelyard.gateway.limiter_stores import MemoryLimiterStore, RedisLimiterStore
from modelyard.gateway.metering import HttpUsageSink
from modelyard.gateway.route_watch import HttpRouteWatcher, RouteSource, tls_verify
from modelyard.gateway.sampling import Sampler
from modelyard.gateway.stats import StatsReporter
from modelyard.observability.drift import Thresholds
from modelyard.observability.endpoints import ops_routes
from modelyard.registry.artifacts import LocalArtifactStore, UploadArea
from modelyard.registry.service import RegistryService
from modelyard.runtimes.engines.install import check_installed
from modelyard.runtimes.engines.spec import Engine
from modelyard.store.unit_of_work import Store

logger = logging.getLogger(__name__)
ASGI = Any


@dataclass(frozen=True)
class Roles:
    """Which planes this process runs."""

    server: bool
    gateway: bool


def _check_engine(engine: str) -> None:
    """Raise ``engine_unavailable`` unless ``engine`` is installed on this node."""
    check_installed(Engine(engine))


def _limiter_store(settings: Settings) -> LimiterStore:
    """Rate-limit buckets: shared in Redis when configured, else in this process."""
    url = settings.gateway.limiter_url
    return RedisLimiterStore(url) if url else MemoryLimiterStore()


class Platform:
    """One modelyard process and its owned background tasks."""

    def __init__(self, settings: Settings, roles: Roles, *, api_key: str | None = None,
                 stop_replicas_on_exit: bool = False) -> None:
        self.settings = settings
        self.roles = roles
        self.stop_replicas_on_exit = stop_replicas_on_exit
        self.clock = SystemClock()
        self.new_admin_key: str | None = None
        self._started = False
        self.feed = RouteFeed()
        self.cp: ControlPlane | None = None
        self.manager: Manager | None = None
        self.backend: LocalBackend | None = None
        self.store: Store | None = None
        self.engine_metrics: EngineMetricsScraper | None = None
        self.prober: EndpointProber | None = None
        self.stats = RevisionStatsBook(self.clock,
                                       stale_after_s=settings.rollouts.stats_stale_after_s)
        if roles.server:
            self._build_server()
        self.watcher: HttpRouteWatcher | None = None
        self.gateway: Gateway | None = None
        self.reporter: StatsReporter | None = None
        self.usage_http: HttpUsageSink | None = None
        if roles.gateway:
            source: RouteSource = self.feed
            if not roles.server:
                if not settings.gateway.server_url or not api_key:
                    raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                         "a gateway alone needs --server and an API key")
                self.watcher = HttpRouteWatcher(
                    settings.gateway.server_url, api_key,
                    poll_timeout_s=settings.server.route_watch_timeout_s,
                    error_backoff_s=settings.gateway.route_poll_error_backoff_s,
                    verify=tls_verify(settings.gateway.ca_file or None))
                source = self.watcher
            self.gateway = Gateway(source, settings.gateway, self.clock,
                                   limiter_store=_limiter_store(settings))
            self._configure_meter(api_key)
            if roles.server:
                self.stats.add_local(self.gateway.traffic.recorder.snapshot)
            else:
                assert api_key is not None
                self.reporter = StatsReporter(
                    self.gateway.traffic.recorder, settings.gateway.server_url, api_key,
                    interval_s=settings.rollouts.stats_report_interval_s,
                    verify=tls_verify(settings.gateway.ca_file or None))

    def _configure_meter(self, api_key: str | None) -> None:
        """Point the gateway's usage meter at the store (with a server) or the server."""
        assert self.gateway is not None
        m = self.settings.metering
        meter = self.gateway.meter
        meter.batch_size, meter.max_queue = m.batch_size, m.max_queue
        meter.flush_interval_s = m.flush_interval_s
        d = self.settings.drift
        if d.sample_rate > 0:
            meter.sampler = Sampler(self.clock, rate=d.sample_rate, max_queue=d.max_queue)
        if self.cp is not None:
            meter.sink = meter.sample_sink = self.cp.usage_sink
        else:
            assert api_key is not None
            self.usage_http = HttpUsageSink(self.settings.gateway.server_url, api_key,
                                            verify=tls_verify(self.settings.gateway.ca_file or None))
            meter.sink = meter.sample_sink = self.usage_http

    def _build_server(self) -> None:
        s = self.settings
        self.local_node = discover_local_node(s.local.node_name or None)
        for d in (s.home, s.artifacts_dir, s.logs_dir, s.run_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.store = Store(s.database_url)
        artifacts = LocalArtifactStore(s.artifacts_dir)
        uploads = UploadArea(s.home / "uploads")
        self.backend = LocalBackend(s.run_dir, s.logs_dir, python=s.local.python,
                                    stop_grace_s=s.local.stop_grace_s,
                                    probe_timeout_s=s.local.probe_timeout_s)
        observed = ObservedState(self.backend)
        inputs = StepInputs(
            policy=RestartPolicy(s.local.restart_base_s, s.local.restart_max_s,
                                 s.local.crash_loop_after),
            start_timeout_s=s.local.start_timeout_s, drain_delay_s=s.controllers.drain_delay_s,
            node=self.local_node.name)
        self.engine_metrics = EngineMetricsScraper(self.store)
        prices = Prices(dict(s.costs.gpu_hour), s.costs.default_gpu_hour, s.costs.cpu_hour)
        rollouts = RolloutController(self.store, self.stats, self.clock)
        self.prober = EndpointProber(self.store)
        reconcilers: list[Reconciler] = [
            rollouts,
            DeploymentController(self.store, self.clock),
            ReplicaController(self.store, self.backend, observed, artifacts, self.clock, inputs,
                              max_body_bytes=s.gateway.max_body_bytes),
            self.prober,
            RoutingController(self.store, self.feed, self.clock, self.prober.healthy),
            self.engine_metrics,
            ResourceMeter(self.store, self.clock, prices, interval_s=s.metering.accrue_interval_s),
            DriftController(self.store, self.clock, DriftConfig(
                s.drift.window_size, s.drift.reference_size, s.drift.keep_samples,
                s.drift.interval_s, Thresholds(s.drift.psi_threshold, s.drift.ks_alpha,
                                               s.drift.min_samples),
                llm_window_s=s.drift.llm_window_s)),
        ]
        self.manager = Manager(observed, reconcilers, resync_s=s.controllers.resync_s)
        self.cp = ControlPlane(
            store=self.store, registry=RegistryService(artifacts, uploads, self.clock),
            artifacts=artifacts, uploads=uploads, backend=self.backend, feed=self.feed,
            clock=self.clock, wake=self.manager.wake, check_engine=_check_engine,
            max_upload_bytes=s.server.max_upload_bytes,
            route_watch_timeout_s=s.server.route_watch_timeout_s,
            stats=self.stats, rollout_holds=rollouts.holds, prices=prices,
            usage_sink=StoreUsageSink(self.store), external_health=self.prober.healthy)

    async def _bootstrap_admin_key(self) -> None:
        assert self.store is not None
        now = self.clock.now()
        async with self.store.uow() as uow:
            await uow.keys.ensure_team(DEFAULT_TEAM, now)
            if await uow.keys.count() > 0:
                return
            plaintext, prefix, key_hash = generate_key()
            key_id = uuid.uuid4().hex
            await uow.keys.add(ApiKey(key_id, prefix, key_hash, "admin", DEFAULT_TEAM,
                                      Role.ADMIN, now, created_by="bootstrap"))
            await uow.audit.append(AuditDraft(now, "bootstrap", DEFAULT_TEAM, "key.create",
                                              f"key/{key_id}", details={"role": "admin"}))
        path = self.settings.admin_key_file
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(plaintext + "\n")
        os.chmod(path, 0o600)
        self.new_admin_key = plaintext

    async def _register_local_node(self) -> None:
        """Record this machine's discovered capacity; declared GPUs take precedence."""
        assert self.store is not None
        d = self.local_node
        async with self.store.uow() as uow:
            found = await uow.nodes.get(d.name)
            gpus = tuple(Gpu(g.index, g.model, g.memory_bytes) for g in d.gpus)
            uuids = tuple(g.uuid for g in d.gpus)
            if found is not None and found.source == NodeSource.DECLARED:
                gpus, uuids = found.node.gpus, found.gpu_uuids
            base = found.node if found is not None else Node(d.name)
            node = replace(base, gpus=gpus, cpu_milli=d.cpu_milli, memory_mib=d.memory_mib)
            source = found.source if found is not None else NodeSource.DISCOVERED
            await uow.nodes.put(NodeRecord(node, source, self.clock.now(), uuids,
                                           found.draining if found else False))

    async def start(self) -> None:
        """Migrate, bootstrap, and start the owned tasks."""
        if self.store is not None and self.manager is not None:
            await asyncio.to_thread(self.store.migrate)
            await self._bootstrap_admin_key()
            await self._register_local_node()
            await self.manager.tick()
            self.manager.start()
        if self.watcher is not None:
            self.watcher.start()
        if self.reporter is not None:
            self.reporter.start()
        if self.gateway is not None:
            self.gateway.meter.start()
        self._started = True

    async def _stop_data_plane(self) -> None:
        if self.watcher is not None:
            await self.watcher.stop()
        if self.reporter is not None:
            await self.reporter.stop()
        if self.gateway is not None:
            await self.gateway.meter.stop()  # flushes every queued usage record
            await self.gateway.aclose()
        if self.usage_http is not None:
            await self.usage_http.aclose()

    async def stop(self) -> None:
        """Stop tasks; replicas keep running (adopted on the next start) unless asked."""
        await self._stop_data_plane()
        if self.manager is not None:
            await self.manager.stop()
        if self.engine_metrics is not None:
            await self.engine_metrics.aclose()
        if self.prober is not None:
            await self.prober.aclose()
        if self.backend is not None:
            if self.stop_replicas_on_exit:
                await self.backend.stop_all(self.settings.local.stop_grace_s)
            await self.backend.close()
        if self.store is not None:
            await self.store.close()

    def is_ready(self) -> tuple[bool, str]:
        """Ready once started, and (gateway alone) once a route table arrived."""
        if not self._started:
            return False, "starting"
        if self.watcher is not None and not self.watcher.synced.is_set():
            return False, "waiting for the first route table"
        return True, "ok"

    def asgi(self) -> ASGI:
        """The ASGI app that serves this process's planes."""
        extra = self.engine_metrics.render if self.engine_metrics is not None else None
        ops = Starlette(routes=ops_routes(self.is_ready, extra))
        api = None
        if self.cp is not None:
            s = self.settings.server
            api = BodyLimit(build_api_app(self.cp), s.max_body_bytes, exempt=("/api/v1/uploads",))
        gw = build_gateway_app(self.gateway) if self.gateway else None
        return Dispatcher(self, api, gw, ops)


class Dispatcher:
    """Routes by path prefix and runs the platform's lifespan."""

    def __init__(self, platform: Platform, api: ASGI | None, gateway: ASGI | None,
                 ops: ASGI) -> None:
        self.platform = platform
        self.api = api
        self.gateway = gateway
        self.ops = ops

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.platform.start()
                except Exception as exc:
                    logger.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.platform.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Dispatch one ASGI connection by path."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        if path in ("/metrics", "/healthz", "/readyz"):
            await self.ops(scope, receive, send)
        elif path.startswith("/api/") or path == "/api":
            if self.api is None:
                await send_error(send, ModelyardError(ErrorCode.ROUTE_NOT_FOUND,
                                                      "this process runs no control plane"))
                return
            await self.api(scope, receive, send)
        elif self.gateway is not None:
            await self.gateway(scope, receive, send)
        else:
            await send_error(send, ModelyardError(ErrorCode.ROUTE_NOT_FOUND))
