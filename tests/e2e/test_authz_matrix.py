"""Authorization on every REST route × every role, against a real platform process.

The expectations are written out by hand (not derived from the policy table): each row
names the roles that may call the route. Allowed means "not 401/403" (the request may
still be refused for other reasons, such as a missing object); denied means 403
``forbidden``; without a key every route is 401 ``unauthenticated``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.api.policy import RULES
from modelyard.cli.client import Client
from tests.support.platform import PlatformProcess, cleanup_replicas

A, TA, D, V, INV = "admin", "team-admin", "developer", "viewer", "invoker"
READERS = {A, TA, D, V}
WRITERS = {A, TA, D}
MANAGERS = {A, TA}
DEP = {"name": "depa", "model": "mdla", "version": 1}

# (method, template, concrete path, body, roles allowed)
MATRIX: list[tuple[str, str, str, Any, set[str]]] = [
    ("POST", "/uploads", "/uploads", b"bytes", WRITERS),
    ("POST", "/models/{name}/versions", "/models/mdla/versions", {"upload_id": "0" * 32}, WRITERS),
    ("GET", "/models", "/models", None, READERS),
    ("GET", "/models/{name}", "/models/mdla", None, READERS),
    ("GET", "/models/{name}/versions/{version}", "/models/mdla/versions/1", None, READERS),
    ("DELETE", "/models/{name}/versions/{version}", "/models/mdla/versions/1", None, WRITERS),
    ("DELETE", "/models/{name}", "/models/mdla", None, WRITERS),
    ("PUT", "/models/{name}/aliases/{alias}", "/models/mdla/aliases/x", {"version": 1}, WRITERS),
    ("DELETE", "/models/{name}/aliases/{alias}", "/models/mdla/aliases/nope", None, WRITERS),
    ("POST", "/deployments", "/deployments", DEP, WRITERS),
    ("GET", "/deployments", "/deployments", None, READERS),
    ("GET", "/deployments/{name}", "/deployments/depa", None, READERS),
    ("POST", "/deployments/{name}/scale", "/deployments/depa/scale", {"replicas": 0}, WRITERS),
    ("DELETE", "/deployments/{name}", "/deployments/nope", None, WRITERS),
    ("GET", "/deployments/{name}/replicas", "/deployments/depa/replicas", None, READERS),
    ("GET", "/replicas/{replica_id}/logs", "/replicas/nope/logs", None, READERS),
    ("POST", "/deployments/{name}/revisions", "/deployments/depa/revisions",
     {"version": 1, "alias": "both"}, WRITERS),
    ("GET", "/deployments/{name}/revisions", "/deployments/depa/revisions", None, READERS),
    ("GET", "/deployments/{name}/history", "/deployments/depa/history", None, READERS),
    ("POST", "/deployments/{name}/rollback", "/deployments/depa/rollback", {}, WRITERS),
    ("POST", "/deployments/{name}/revisions/{number}/validations",
     "/deployments/depa/revisions/99/validations", {"passed": True}, WRITERS),
    ("GET", "/deployments/{name}/revisions/{number}/validations",
     "/deployments/depa/revisions/1/validations", None, READERS),
    ("POST", "/deployments/{name}/promotions", "/deployments/depa/promotions",
     {"target": "prodx"}, WRITERS),
    ("GET", "/deployments/{name}/rollouts", "/deployments/depa/rollouts", None, READERS),
    ("GET", "/deployments/{name}/rollout", "/deployments/depa/rollout", None, READERS),
    ("POST", "/deployments/{name}/rollout/{action}", "/deployments/depa/rollout/pause", {},
     WRITERS),
    ("GET", "/deployments/{name}/stats", "/deployments/depa/stats", None, READERS),
    ("POST", "/external-deployments", "/external-deployments",
     {"name": "depa", "endpoints": ["http://127.0.0.1:9"]}, WRITERS),
    ("GET", "/external-deployments", "/external-deployments", None, READERS),
    ("DELETE", "/external-deployments/{name}", "/external-deployments/nope", None, WRITERS),
    ("POST", "/gateway-stats", "/gateway-stats", {"gateway_id": "g", "stats": []}, {A}),
    ("POST", "/usage", "/usage", {"records": []}, {A}),
    ("GET", "/usage", "/usage?by=deployment&since=1d", None, READERS),
    ("GET", "/costs", "/costs?by=team", None, READERS),
    ("PUT", "/budgets/{team}", "/budgets/a", {"soft": 50, "hard": 100}, {A}),
    ("GET", "/budgets", "/budgets", None, READERS),
    ("DELETE", "/budgets/{team}", "/budgets/nope", None, {A}),
    ("POST", "/drift/samples", "/drift/samples", {"samples": []}, {A}),
    ("PUT", "/models/{name}/versions/{version}/reference", "/models/mdla/versions/1/reference",
     {"columns": ["a"], "rows": [[1.0]]}, WRITERS),
    ("GET", "/deployments/{name}/drift", "/deployments/depa/drift", None, READERS),
    ("GET", "/routes", "/routes?timeout_s=0", None, {A}),
    ("GET", "/whoami", "/whoami", None, {A, TA, D, V, INV}),
    ("POST", "/teams", "/teams", {"name": "a"}, {A}),
    ("GET", "/teams", "/teams", None, READERS),
    ("POST", "/users", "/users", {"name": "u1", "team": "a", "role": "viewer"}, MANAGERS),
    ("GET", "/users", "/users", None, READERS),
    ("POST", "/keys", "/keys", {"name": "k", "team": "a", "role": "viewer"}, MANAGERS),
    ("GET", "/keys", "/keys", None, MANAGERS),
    ("DELETE", "/keys/{key_id}", "/keys/nope", None, MANAGERS),
    ("GET", "/audit", "/audit", None, MANAGERS),
    ("GET", "/audit/verify", "/audit/verify", None, {A}),
    ("GET", "/nodes", "/nodes", None, READERS),
    ("GET", "/nodes/{name}", "/nodes/nope", None, READERS),
    ("POST", "/nodes", "/nodes", {"name": "declared-x", "gpus": [{"model": "T4-16GB"}]}, {A}),
    ("POST", "/nodes/{name}/cordon", "/nodes/nope/cordon", None, {A}),
    ("POST", "/nodes/{name}/uncordon", "/nodes/nope/uncordon", None, {A}),
    ("POST", "/nodes/{name}/drain", "/nodes/nope/drain", None, {A}),
    ("DELETE", "/nodes/{name}", "/nodes/nope", None, {A}),
    ("GET", "/quotas", "/quotas", None, READERS),
    ("PUT", "/quotas/{team}/{gpu_model}", "/quotas/a/T4-16GB", {"guaranteed": 1}, {A}),
    ("DELETE", "/quotas/{team}/{gpu_model}", "/quotas/a/nope", None, {A}),
]
ROLES = [A, TA, D, V, INV]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          iris_model: tuple[Path, LogisticRegression]) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("matrix") / "home"
    p = PlatformProcess(home).start()
    try:
        admin = p.client()
        for team in ("a", "b"):
            admin.create_team(team)
        keys = {A: p.key}
        for role in (TA, D, V):
            keys[role] = admin.create_key(name=f"k-{role}", team="a", role=role)["key"]
        dev = Client(p.url, keys[D])
        dev.register("mdla", iris_model[0], framework="sklearn")
        dev.deploy(**DEP, replicas=0)
        dev.close()
        keys[INV] = admin.create_key(name="app", team="a", role=INV, deployments=["depa"])["key"]
        keys["b-dev"] = admin.create_key(name="b-dev", team="b", role=D)["key"]
        keys["b-admin"] = admin.create_key(name="b-admin", team="b", role=TA)["key"]
        keys["a-mgmt-only"] = admin.create_key(name="mgmt", team="a", role=D,
                                               scopes=["management"])["key"]
        keys["a-infer-only"] = admin.create_key(name="infer", team="a", role=D,
                                                scopes=["inference"])["key"]
        yield {"platform": p, "keys": keys}
    finally:
        p.stop()
        cleanup_replicas(home)


def call(p: PlatformProcess, key: str | None, method: str, path: str, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    with httpx.Client(base_url=p.url, trust_env=False, timeout=30, headers=headers) as http:
        return http.request(method, f"/api/v1{path}", **({} if body is None else kwargs))


def test_matrix_covers_every_route(world: dict[str, Any]) -> None:
    doc = world["platform"].client().http.get("/api/v1/openapi.json").json()
    documented = {(m.upper(), path.removeprefix("/api/v1"))
                  for path, item in doc["paths"].items() for m in item}
    assert documented == set(RULES) == {(m, t) for m, t, *_ in MATRIX}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "template", "path", "body", "allowed"), MATRIX,
                         ids=[f"{m} {t}" for m, t, *_ in MATRIX])
def test_route_by_role(world: dict[str, Any], role: str, method: str, template: str, path: str,
                       body: Any, allowed: set[str]) -> None:
    resp = call(world["platform"], world["keys"][role], method, path, body)
    if role in allowed:
        assert resp.status_code not in (401, 403), resp.text
        assert resp.status_code < 500, resp.text
    else:
        assert (resp.status_code, resp.json()["error"]["code"]) == (403, "forbidden"), resp.text


@pytest.mark.parametrize(("method", "template", "path", "body", "allowed"), MATRIX,
                         ids=[f"{m} {t}" for m, t, *_ in MATRIX])
def test_route_without_key(world: dict[str, Any], method: str, template: str, path: str,
                           body: Any, allowed: set[str]) -> None:
    for key in (None, "my_00000000_notakey"):
        resp = call(world["platform"], key, method, path, body)
        assert (resp.status_code, resp.json()["error"]["code"]) == (401, "unauthenticated")


@pytest.mark.parametrize(("method", "template", "path", "body", "allowed"), MATRIX,
                         ids=[f"{m} {t}" for m, t, *_ in MATRIX])
def test_scopes(world: dict[str, Any], method: str, template: str, path: str, body: Any,
                allowed: set[str]) -> None:
    """A management-only developer key acts as a developer; an inference-only one gets whoami."""
    p, keys = world["platform"], world["keys"]
    mgmt = call(p, keys["a-mgmt-only"], method, path, body)
    assert (mgmt.status_code == 403) == (D not in allowed), mgmt.text
    infer = call(p, keys["a-infer-only"], method, path, body)
    assert (infer.status_code == 403) == (template != "/whoami"), infer.text


def test_production_needs_team_admin(world: dict[str, Any]) -> None:
    p, keys = world["platform"], world["keys"]
    prod = {"name": "proda", "model": "mdla", "version": 1, "replicas": 0,
            "environment": "production"}
    denied = call(p, keys[D], "POST", "/deployments", prod)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "forbidden")
    assert "production" in denied.json()["error"]["message"]
    assert call(p, keys[TA], "POST", "/deployments", prod).status_code == 201
    assert call(p, keys[D], "POST", "/deployments/proda/scale", {"replicas": 0}).status_code == 403
    assert call(p, keys[TA], "POST", "/deployments/proda/scale", {"replicas": 0}).status_code == 200
    # a team-admin may not mint admin keys, nor touch another team
    assert call(p, keys[TA], "POST", "/keys", {"name": "x", "role": "admin"}).status_code == 403
    assert call(p, keys[TA], "POST", "/keys", {"name": "x", "team": "b"}).status_code == 404


def swap(text: str) -> str:
    """The same request about names that do not exist anywhere."""
    return "zz" if text == "a" else text.replace("mdla", "zz").replace("depa", "zz")


def test_other_teams_are_invisible(world: dict[str, Any]) -> None:
    p, keys = world["platform"], world["keys"]
    b = keys["b-admin"]
    lists = {path: call(p, b, "GET", path, None) for path in
             ("/models", "/deployments", "/teams", "/users", "/keys", "/audit")}
    for path, resp in lists.items():
        assert resp.status_code == 200, (path, resp.text)
        assert "mdla" not in resp.text and "depa" not in resp.text and '"a"' not in resp.text, path
    assert [t["name"] for t in lists["/teams"].json()] == ["b"]
    a_key_id = next(k["id"] for k in call(p, keys[TA], "GET", "/keys", None).json())
    for method, path, body, code in [
        ("GET", "/models/mdla", None, "model_not_found"),
        ("GET", "/models/mdla/versions/1", None, "model_not_found"),
        ("DELETE", "/models/mdla", None, "model_not_found"),
        ("GET", "/deployments/depa", None, "deployment_not_found"),
        ("GET", "/deployments/depa/history", None, "deployment_not_found"),
        ("POST", "/deployments/depa/rollout/pause", {}, "deployment_not_found"),
        ("POST", "/deployments/depa/revisions", {"replicas": 1}, "deployment_not_found"),
        ("POST", "/deployments/depa/scale", {"replicas": 1}, "deployment_not_found"),
        ("POST", "/deployments", {"name": "mine", "model": "mdla", "version": 1}, "model_not_found"),
        ("DELETE", f"/keys/{a_key_id}", None, "key_not_found"),
        ("POST", "/keys", {"name": "x", "team": "a"}, "team_not_found"),
        ("POST", "/keys", {"name": "x", "role": "invoker", "deployments": ["depa"]},
         "deployment_not_found"),
    ]:
        hidden = call(p, b, method, path, body)
        missing = call(p, b, method, swap(path.replace(a_key_id, "zz")),
                       body and {k: swap(v) if isinstance(v, str) else
                                 [swap(x) for x in v] if isinstance(v, list) else v
                                 for k, v in body.items()})
        assert hidden.json()["error"]["code"] == code, (path, hidden.text)
        assert missing.json()["error"]["code"] == code, (path, missing.text)
        assert hidden.status_code == missing.status_code == 404
    # the gateway: another team's deployment looks missing; /v1/models does not list it
    with p.http(keys["b-dev"]) as http:
        resp = http.post("/v2/models/depa/infer", json={"inputs": []})
        assert (resp.status_code, resp.json()["error"]["code"]) == (404, "model_not_found")
        assert "depa" not in http.get("/v1/models").text


def test_gateway_scopes_and_invoker_keys(world: dict[str, Any]) -> None:
    p, keys = world["platform"], world["keys"]
    row = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}
    cases = [(INV, "depa", 503), (D, "depa", 503), (A, "depa", 503), (V, "depa", 403),
             ("a-mgmt-only", "depa", 403), ("a-infer-only", "depa", 503), (INV, "proda", 403)]
    for who, dep, status in cases:
        with p.http(keys[who]) as http:
            resp = http.post(f"/v2/models/{dep}/infer", json=row)
            assert resp.status_code == status, (who, dep, resp.text)
    with p.http(keys[INV]) as http:
        assert [m["id"] for m in http.get("/v1/models").json()["data"]] == ["depa"]


def test_refusals_are_audited_without_secrets(world: dict[str, Any]) -> None:
    p, keys = world["platform"], world["keys"]
    call(p, keys[V], "POST", "/deployments/depa/scale", {"replicas": 1})
    call(p, None, "GET", "/models", None)
    events = p.client().audit(limit=1000)
    denied = [e for e in events if e["outcome"] == "denied" and e["actor"] == "k-viewer"]
    assert denied and denied[-1]["action"] == "deployment.scale"
    failed = [e for e in events if e["outcome"] == "failed"]
    assert any(e["actor"] == "anonymous" and e["details"]["reason"] == "missing" for e in failed)
    assert any(e["actor"] == "key:00000000" for e in failed)
    ok = [e for e in events if e["action"] == "deployment.create" and e["outcome"] == "ok"]
    assert ok and ok[0]["after_digest"].startswith("sha256:") and ok[0]["source"] == "127.0.0.1"
    # the bootstrap admin key is printed once on the console by design; nothing else is
    log = p.log.read_text().replace(f"  {keys[A]}\n", "", 1)
    everything = str(events) + str(p.client().keys()) + log
    for key in keys.values():
        assert key not in everything
        assert key.split("_", 2)[2] not in everything
    assert p.client().verify_audit()["ok"] is True
