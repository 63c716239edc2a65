"""Key lifecycle across separate processes, TLS end to end, and the CLI's tenancy commands.

A control plane and a gateway run as two processes; keys are created, used, expire and
are revoked through the real CLI, and the gateway must follow within seconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sklearn.linear_model import LogisticRegression

from tests.support.cli import cli_json, run_cli
from tests.support.platform import PlatformProcess, cleanup_replicas, wait_for
from tests.support.tls import make_certificates

REVOKE_WITHIN_S = 5.0


def status(http: httpx.Client, key: str, path: str = "/v1/models") -> int:
    return http.get(path, headers={"Authorization": f"Bearer {key}"}).status_code


def test_key_lifecycle_seen_by_a_separate_gateway(
        tmp_path: Path, iris_model: tuple[Path, LogisticRegression]) -> None:
    server = PlatformProcess(tmp_path / "home", "server").start()
    gateway = PlatformProcess(tmp_path / "gw", "gateway", extra=["--server", server.url],
                              env={"MODELYARD_API_KEY": server.key})
    try:
        gateway.start()
        url, admin = server.url, server.key
        team = cli_json(url, admin, "teams", "create", "ml")
        assert team["name"] == "ml"
        assert [t["name"] for t in cli_json(url, admin, "teams", "list")] == ["default", "ml"]
        cli_json(url, admin, "users", "create", "ann", "--team", "ml", "--role", "developer")
        assert cli_json(url, admin, "users", "list", "--team", "ml")[0]["role"] == "developer"
        dev = cli_json(url, admin, "keys", "create", "ann-laptop", "--team", "ml", "--user", "ann",
                       "--role", "developer")
        assert dev["key"].startswith(f"my_{dev['prefix']}_") and dev["user"] == "ann"
        # a key never outranks its user
        too_high = run_cli(url, admin, "keys", "create", "x", "--team", "ml", "--user", "ann",
                           "--role", "team-admin", check=False)
        assert too_high.returncode == 1 and "forbidden" in too_high.stderr
        run_cli(url, dev["key"], "models", "register", "iris", "--path", str(iris_model[0]))
        run_cli(url, dev["key"], "deploy", "iris", "--model", "iris", "--version", "1",
                "--replicas", "0", "--no-wait")
        app = cli_json(url, admin, "keys", "create", "shop", "--role", "invoker", "--team", "ml",
                       "--scope", "inference", "--deployment", "iris", "--expires-in", "7d")
        assert app["scopes"] == ["inference"] and app["deployments"] == ["iris"]
        assert app["expires_at"] is not None and app["state"] == "active"
        short = cli_json(url, admin, "keys", "create", "short", "--team", "ml",
                         "--expires-in", "3s")
        listed = {k["id"]: k for k in cli_json(url, admin, "keys", "list")}
        assert "key" not in listed[app["id"]] and "key_hash" not in listed[app["id"]]
        assert listed[dev["id"]]["last_used_at"] is not None  # used by the CLI above

        with httpx.Client(base_url=gateway.url, trust_env=False, timeout=10) as http:
            for key in (dev["key"], app["key"], short["key"]):
                wait_for(lambda k=key: status(http, k) == 200, timeout_s=10)
            row = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64",
                               "data": [1, 2, 3, 4]}]}
            infer = http.post("/v2/models/iris/infer", json=row,
                              headers={"Authorization": f"Bearer {app['key']}"})
            assert infer.json()["error"]["code"] == "no_ready_replica"  # authorized, 0 replicas
            # expiry: the gateway refuses the key by itself once its time has passed
            wait_for(lambda: status(http, short["key"]) == 401, timeout_s=10)
            assert cli_json(url, admin, "keys", "list")[-1]["state"] == "expired"
            # revocation: the API refuses at once, the separate gateway within seconds
            revoked = cli_json(url, admin, "keys", "revoke", app["id"])
            started = time.monotonic()
            assert revoked["state"] == "revoked" and revoked["revoked_at"]
            wait_for(lambda: status(http, app["key"]) == 401, timeout_s=REVOKE_WITHIN_S,
                     interval_s=0.05)
            seen_after_s = time.monotonic() - started
            assert seen_after_s < REVOKE_WITHIN_S
            assert status(http, dev["key"]) == 200
        denied = run_cli(url, app["key"], "models", "list", check=False)
        assert denied.returncode == 1 and "unauthenticated" in denied.stderr
        actions = [e["action"] for e in cli_json(url, admin, "audit", "list", "--limit", "1000")]
        for action in ("team.create", "user.create", "key.create", "model.version.create",
                       "deployment.create", "key.revoke"):
            assert action in actions
        revokes = cli_json(url, admin, "audit", "list", "--action", "key.revoke",
                           "--target", f"key/{app['id']}")
        assert len(revokes) == 1 and revokes[0]["before_digest"] != revokes[0]["after_digest"]
        assert cli_json(url, admin, "audit", "verify")["ok"] is True
        export = tmp_path / "audit.jsonl"
        run_cli(url, admin, "audit", "export", "--file", str(export))
        lines = export.read_text().splitlines()
        assert len(lines) >= len(actions) and '"prev_hash"' in lines[0]
        for secret in (dev["key"], app["key"], short["key"], admin):
            assert secret not in export.read_text()
            assert secret not in server.log.read_text().replace(admin, "", 1)
            assert secret not in gateway.log.read_text()
    finally:
        gateway.stop()
        server.stop()
        cleanup_replicas(tmp_path / "home")


def test_tls_end_to_end(tmp_path: Path) -> None:
    tls = make_certificates(tmp_path / "certs")
    cert, _, ca = tls
    server = PlatformProcess(tmp_path / "home", "server", tls=tls).start()
    gateway = PlatformProcess(tmp_path / "gw", "gateway", tls=tls,
                              extra=["--server", server.url, "--ca-file", str(ca)],
                              env={"MODELYARD_API_KEY": server.key,
                                   "MODELYARD_ROLLOUTS__STATS_REPORT_INTERVAL_S": "0.2"})
    try:
        assert server.url.startswith("https://")
        gateway.start()  # ready = it fetched a route table from the HTTPS server
        key = server.key
        teams = cli_json(server.url, key, "--ca-file", str(ca), "teams", "list")
        assert [t["name"] for t in teams] == ["default"]
        untrusted = run_cli(server.url, key, "teams", "list", check=False)
        assert untrusted.returncode == 1
        assert "certificate" in untrusted.stderr and "--ca-file" in untrusted.stderr
        with gateway.http(key) as http:
            assert http.get("/v1/models").json() == {"object": "list", "data": []}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{gateway.url}/v1/models", trust_env=False)  # system trust store
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{server.port}/healthz", trust_env=False, timeout=1)
        # a gateway that does not trust the server's certificate never becomes ready
        blind = PlatformProcess(tmp_path / "gw2", "gateway", extra=["--server", server.url],
                                env={"MODELYARD_API_KEY": key})
        with pytest.raises(RuntimeError, match="not ready"):
            blind.start(timeout_s=3)
        blind.stop()
        assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
        # the route watch and the stats reports of the trusting gateway never failed
        assert "route poll failed" not in gateway.log.read_text()
        assert "stats report failed" not in gateway.log.read_text()
    finally:
        gateway.stop()
        server.stop()
