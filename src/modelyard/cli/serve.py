"""``modelyard up``, ``modelyard server`` and ``modelyard gateway``: run the planes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from modelyard.cli.demo import run_demo
from modelyard.config import Settings
from modelyard.observability.logging import configure_logging

if TYPE_CHECKING:  # the platform is imported when a plane starts: client commands stay fast
    from modelyard.app import Platform


def _serve(platform: Platform, host: str, port: int, *, tls_cert: str | None = None,
           tls_key: str | None = None, on_started: threading.Thread | None = None) -> None:
    import uvicorn

    _check_tls(tls_cert, tls_key)
    config = uvicorn.Config(platform.asgi(), host=host, port=port, log_config=None,
                            access_log=False, lifespan="on", ssl_certfile=tls_cert,
                            ssl_keyfile=tls_key, timeout_graceful_shutdown=10,
                            server_header=False)
    server = uvicorn.Server(config)
    if on_started is not None:
        on_started.start()
    server.run()


def _check_tls(tls_cert: str | None, tls_key: str | None) -> None:
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("HTTPS needs both --tls-cert and --tls-key")


def _listen(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A bound socket; with ``reuse_port`` several processes share its port (SO_REUSEPORT)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _serve_data_plane(platform: Platform, host: str, port: int, *, tls_cert: str | None,
                      tls_key: str | None, reuse_port: bool) -> None:
    """Run a gateway process on the data plane's own HTTP/1.1 server (``gateway.http_server``)."""
    import ssl

    from modelyard.gateway.http_server import serve

    _check_tls(tls_cert, tls_key)
    context = None
    if tls_cert and tls_key:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
    serve(platform.asgi(), _listen(host, port, reuse_port=reuse_port), ssl_context=context)


def _run_workers(count: int, serve_one: Callable[[], None]) -> None:
    """Fork ``count`` processes that each run ``serve_one``; forward SIGTERM/SIGINT; wait."""
    children: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                serve_one()
            except BaseException:  # the child must never return into the parent's code
                code = 1
            os._exit(code)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        os.waitpid(child, 0)


def _announce(platform: Platform, url: str) -> None:
    home = platform.settings.home
    if platform.new_admin_key:
        click.echo(f"admin API key (shown once, also in {home / 'admin.key'}):\n"
                   f"  {platform.new_admin_key}")
    click.echo(f"modelyard at {url}  (home {home})")


def _settings(home: Path | None, host: str, port: int) -> Settings:
    settings = Settings.load(home)
    settings.server.host, settings.server.port = host, port
    return settings


home_option = click.option("--home", type=click.Path(path_type=Path), default=None,
                           help="State folder (default $MODELYARD_HOME or ~/.modelyard).")
host_option = click.option("--host", default="127.0.0.1", show_default=True)
port_option = click.option("--port", type=int, default=8080, show_default=True)
tls_options = [click.option("--tls-cert", default=None, help="PEM certificate (HTTPS)."),
               click.option("--tls-key", default=None, help="PEM private key (HTTPS).")]


F = TypeVar("F", bound=Callable[..., Any])


def _with_tls(f: F) -> F:
    for opt in reversed(tls_options):
        f = opt(f)
    return f


@click.command("up")
@home_option
@host_option
@port_option
@click.option("--demo/--no-demo", default=False, help="Register and deploy the iris demo.")
@click.option("--stop-replicas-on-exit", is_flag=True,
              help="Stop replica processes on exit instead of leaving them for adoption.")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="text")
@_with_tls
def up(home: Path | None, host: str, port: int, demo: bool, stop_replicas_on_exit: bool,
       log_format: str, tls_cert: str | None, tls_key: str | None) -> None:
    """Run control plane and gateway in one process (SQLite and local processes)."""
    from modelyard.app import Platform, Roles

    configure_logging(json_lines=log_format == "json")
    settings = _settings(home, host, port)
    platform = Platform(settings, Roles(server=True, gateway=True),
                        stop_replicas_on_exit=stop_replicas_on_exit)
    url = f"{'https' if tls_cert else 'http'}://{host}:{port}"

    def after_start() -> None:
        import time

        while not platform.is_ready()[0]:
            time.sleep(0.05)
        _announce(platform, url)
        if demo:
            key = settings.admin_key_file.read_text().strip()
            try:
                run_demo(url, key, settings.home)
            except Exception as exc:  # the demo must never take the platform down
                click.echo(f"demo failed: {exc}", err=True)

    _serve(platform, host, port, tls_cert=tls_cert, tls_key=tls_key,
           on_started=threading.Thread(target=after_start, daemon=True))


@click.command("server")
@home_option
@host_option
@port_option
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json")
@_with_tls
def server(home: Path | None, host: str, port: int, log_format: str, tls_cert: str | None,
           tls_key: str | None) -> None:
    """Run the control plane alone (REST API, controllers, route watch)."""
    from modelyard.app import Platform, Roles

    configure_logging(json_lines=log_format == "json")
    platform = Platform(_settings(home, host, port), Roles(server=True, gateway=False))

    def after_start() -> None:
        import time

        while not platform.is_ready()[0]:
            time.sleep(0.05)
        _announce(platform, f"{'https' if tls_cert else 'http'}://{host}:{port}")

    _serve(platform, host, port, tls_cert=tls_cert, tls_key=tls_key,
           on_started=threading.Thread(target=after_start, daemon=True))


@click.command("gateway")
@click.option("--server", "server_url", required=True, help="Control plane URL.")
@click.option("--api-key", envvar="MODELYARD_API_KEY", default=None,
              help="Admin key for the route watch (default $MODELYARD_API_KEY or home).")
@home_option
@host_option
@click.option("--port", type=int, default=8081, show_default=True)
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json")
@click.option("--ca-file", "gw_ca_file", default=None,
              help="CA bundle that verifies an HTTPS --server (default: the global --ca-file).")
@click.option("--workers", type=int, default=None,
              help="Gateway processes sharing the port (SO_REUSEPORT); default from settings (1).")
@_with_tls
@click.pass_context
def gateway(ctx: click.Context, server_url: str, api_key: str | None, home: Path | None,
            host: str, port: int, log_format: str, gw_ca_file: str | None, workers: int | None,
            tls_cert: str | None, tls_key: str | None) -> None:
    """Run a gateway alone; it follows the control plane's route table."""
    from modelyard.app import Platform, Roles

    configure_logging(json_lines=log_format == "json")
    settings = _settings(home, host, port)
    settings.gateway.server_url = server_url
    ca_file = gw_ca_file or getattr(ctx.obj, "ca_file", None)
    if ca_file:
        settings.gateway.ca_file = ca_file
    if api_key is None:
        try:
            api_key = settings.admin_key_file.read_text().strip()
        except OSError:
            raise click.UsageError("no API key: pass --api-key or set MODELYARD_API_KEY") from None
    count = workers if workers is not None else settings.gateway.workers
    key: str = api_key

    def serve_one() -> None:
        platform = Platform(settings, Roles(server=False, gateway=True), api_key=key)
        _serve_data_plane(platform, host, port, tls_cert=tls_cert, tls_key=tls_key,
                          reuse_port=count > 1)

    if count <= 1:
        serve_one()
    else:
        _run_workers(count, serve_one)
