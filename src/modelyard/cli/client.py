"""Typed HTTP client of the REST API, used by the CLI, the demo and the tests."""

from __future__ import annotations

import io
import ssl
import tarfile
from pathlib import Path
from typing import Any

import httpx

from modelyard.domain.errors import ErrorCode, ModelyardError


class Client:
    """A thin client: one method per API call; errors become ModelyardError."""

    def __init__(self, url: str, api_key: str | None, *, timeout_s: float = 60.0,
                 verify: bool | str = True) -> None:
        # a CA bundle path becomes an SSL context (httpx deprecated string paths)
        tls: ssl.SSLContext | bool = (ssl.create_default_context(cafile=verify)
                                      if isinstance(verify, str) else verify)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s,
                                 verify=tls, trust_env=False)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            detail = type(exc).__name__
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                detail += ": the server's certificate is not trusted (pass --ca-file)"
            raise ModelyardError(ErrorCode.UPSTREAM_ERROR,
                                 f"cannot reach {self.url}: {detail}") from None
        if resp.status_code >= 400:
            try:
                err = resp.json()["error"]
                code = ErrorCode(err["code"])
                message = err["message"]
            except (ValueError, KeyError, TypeError):
                code, message = ErrorCode.INTERNAL, f"HTTP {resp.status_code}: {resp.text[:200]}"
            raise ModelyardError(code, message)
        if resp.status_code == 204:
            return None
        if resp.headers.get("content-type", "").startswith("application/json"):
            return resp.json()
        return resp.text

    def upload(self, path: Path) -> str:
        """Upload a file or a folder (as tar); return the upload id."""
        if path.is_dir():
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for item in sorted(path.rglob("*")):
                    tar.add(item, arcname=item.relative_to(path).as_posix(), recursive=False)
            body: Any = buf.getvalue()
            ctype = "application/x-tar"
        else:
            body = path.read_bytes()
            ctype = "application/octet-stream"
        out = self._call("POST", "/api/v1/uploads", content=body,
                         headers={"Content-Type": ctype})
        return str(out["upload_id"])

    def register(self, name: str, path: Path, **fields: Any) -> dict[str, Any]:
        """Upload ``path`` and register it as the next version of ``name``."""
        upload_id = self.upload(path)
        body = {"upload_id": upload_id, "filename": path.name,
                **{k: v for k, v in fields.items() if v is not None}}
        result: dict[str, Any] = self._call("POST", f"/api/v1/models/{name}/versions", json=body)
        return result

    def models(self) -> list[dict[str, Any]]:
        """List models."""
        result: list[dict[str, Any]] = self._call("GET", "/api/v1/models")
        return result

    def model(self, name: str) -> dict[str, Any]:
        """Show a model."""
        result: dict[str, Any] = self._call("GET", f"/api/v1/models/{name}")
        return result

    def set_alias(self, name: str, alias: str, version: int) -> dict[str, Any]:
        """Point an alias at a version."""
        result: dict[str, Any] = self._call("PUT", f"/api/v1/models/{name}/aliases/{alias}",
                                            json={"version": version})
        return result

    def delete_model(self, name: str, version: int | None = None) -> None:
        """Delete a model or one version."""
        path = f"/api/v1/models/{name}" + (f"/versions/{version}" if version else "")
        self._call("DELETE", path)

    def deploy(self, **body: Any) -> dict[str, Any]:
        """Create a deployment."""
        result: dict[str, Any] = self._call(
            "POST", "/api/v1/deployments", json={k: v for k, v in body.items() if v is not None})
        return result

    def deployments(self) -> list[dict[str, Any]]:
        """List deployments."""
        result: list[dict[str, Any]] = self._call("GET", "/api/v1/deployments")
        return result

    def deployment(self, name: str) -> dict[str, Any]:
        """Show a deployment."""
        result: dict[str, Any] = self._call("GET", f"/api/v1/deployments/{name}")
        return result

    def scale(self, name: str, replicas: int) -> dict[str, Any]:
        """Change the replica count."""
        result: dict[str, Any] = self._call("POST", f"/api/v1/deployments/{name}/scale",
                                            json={"replicas": replicas})
        return result

    def deploy_external(self, **body: Any) -> dict[str, Any]:
        """Create a deployment served by external endpoints."""
        return self._post("/api/v1/external-deployments", body)

    def external_deployments(self) -> list[dict[str, Any]]:
        """External deployments and their healthy endpoints."""
        result: list[dict[str, Any]] = self._call("GET", "/api/v1/external-deployments")
        return result

    def delete_deployment(self, name: str) -> dict[str, Any]:
        """Start deleting a deployment."""
        result: dict[str, Any] = self._call("DELETE", f"/api/v1/deployments/{name}")
        return result

    def replicas(self, deployment: str) -> list[dict[str, Any]]:
        """List a deployment's replicas."""
        result: list[dict[str, Any]] = self._call(
            "GET", f"/api/v1/deployments/{deployment}/replicas")
        return result

    def logs(self, replica_id: str, tail: int) -> str:
        """A replica's last log lines."""
        return str(self._call("GET", f"/api/v1/replicas/{replica_id}/logs",
                              params={"tail": tail}))

    def whoami(self) -> dict[str, Any]:
        """The caller's identity."""
        result: dict[str, Any] = self._call("GET", "/api/v1/whoami")
        return result

    # tenancy and audit

    def _get_list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            "GET", path, params={k: v for k, v in params.items() if v is not None})
        return result

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", path, json={k: v for k, v in body.items() if v is not None})
        return result

    def create_team(self, name: str) -> dict[str, Any]:
        """Create a team."""
        return self._post("/api/v1/teams", {"name": name})

    def teams(self) -> list[dict[str, Any]]:
        """List teams."""
        return self._get_list("/api/v1/teams")

    def create_user(self, name: str, team: str | None, role: str) -> dict[str, Any]:
        """Add a user to a team."""
        return self._post("/api/v1/users", {"name": name, "team": team, "role": role})

    def users(self, team: str | None = None) -> list[dict[str, Any]]:
        """List users."""
        return self._get_list("/api/v1/users", team=team)

    def create_key(self, **body: Any) -> dict[str, Any]:
        """Create an API key; the answer's ``key`` is the only copy."""
        return self._post("/api/v1/keys", body)

    def keys(self) -> list[dict[str, Any]]:
        """List keys (never the keys themselves)."""
        return self._get_list("/api/v1/keys")

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        """Revoke a key."""
        result: dict[str, Any] = self._call("DELETE", f"/api/v1/keys/{key_id}")
        return result

    def audit(self, **filters: Any) -> list[dict[str, Any]]:
        """List audit events (oldest first)."""
        return self._get_list("/api/v1/audit", **filters)

    def verify_audit(self) -> dict[str, Any]:
        """Walk the audit chain."""
        result: dict[str, Any] = self._call("GET", "/api/v1/audit/verify")
        return result

    # revisions and rollouts

    def update(self, name: str, **body: Any) -> dict[str, Any]:
        """Create a new revision of a deployment and start its rollout."""
        result: dict[str, Any] = self._call(
            "POST", f"/api/v1/deployments/{name}/revisions",
            json={k: v for k, v in body.items() if v is not None})
        return result

    def revisions(self, name: str) -> list[dict[str, Any]]:
        """Every revision of a deployment."""
        result: list[dict[str, Any]] = self._call("GET", f"/api/v1/deployments/{name}/revisions")
        return result

    def history(self, name: str) -> list[dict[str, Any]]:
        """Rollout steps, aborts, promotions, rollbacks and gate decisions of a deployment."""
        result: list[dict[str, Any]] = self._call("GET", f"/api/v1/deployments/{name}/history")
        return result

    def rollback(self, name: str, **body: Any) -> dict[str, Any]:
        """Restore an earlier revision's spec as a new revision."""
        result: dict[str, Any] = self._call(
            "POST", f"/api/v1/deployments/{name}/rollback",
            json={k: v for k, v in body.items() if v is not None})
        return result

    def validate(self, name: str, revision: int, passed: bool, summary: str = "", *,
                 figures: dict[str, Any] | None = None, command: str | None = None
                 ) -> dict[str, Any]:
        """Record a validation result of a revision (with a validation run's figures)."""
        body: dict[str, Any] = {"passed": passed, "summary": summary}
        if figures is not None:
            body["figures"] = figures
        if command is not None:
            body["command"] = command
        result: dict[str, Any] = self._call(
            "POST", f"/api/v1/deployments/{name}/revisions/{revision}/validations", json=body)
        return result

    # drift

    def set_reference(self, name: str, version: int, columns: list[str],
                      rows: list[list[float]]) -> dict[str, Any]:
        """Register a model version's reference data."""
        result: dict[str, Any] = self._call(
            "PUT", f"/api/v1/models/{name}/versions/{version}/reference",
            json={"columns": columns, "rows": rows})
        return result

    def drift(self, name: str) -> dict[str, Any]:
        """The latest drift report of a deployment."""
        result: dict[str, Any] = self._call("GET", f"/api/v1/deployments/{name}/drift")
        return result

    # usage, costs and budgets

    def usage(self, by: str = "team", since: str = "7d", fmt: str = "json") -> Any:
        """Usage aggregates (a dict, or CSV text with ``fmt="csv"``)."""
        return self._call("GET", "/api/v1/usage", params={"by": by, "since": since, "format": fmt})

    def costs(self, by: str = "team", since: str = "7d", fmt: str = "json") -> Any:
        """Cost per group (a dict, or CSV text with ``fmt="csv"``)."""
        return self._call("GET", "/api/v1/costs", params={"by": by, "since": since, "format": fmt})

    def set_budget(self, team: str, soft: float, hard: float, period: str) -> dict[str, Any]:
        """Set a team's budget."""
        result: dict[str, Any] = self._call("PUT", f"/api/v1/budgets/{team}",
                                            json={"soft": soft, "hard": hard, "period": period})
        return result

    def budgets(self) -> list[dict[str, Any]]:
        """Budgets with this period's spending."""
        return self._get_list("/api/v1/budgets")

    def delete_budget(self, team: str) -> dict[str, Any]:
        """Remove a team's budget."""
        result: dict[str, Any] = self._call("DELETE", f"/api/v1/budgets/{team}")
        return result

    def promote_environment(self, name: str, **body: Any) -> dict[str, Any]:
        """Copy a staging revision to a production deployment."""
        result: dict[str, Any] = self._call(
            "POST", f"/api/v1/deployments/{name}/promotions",
            json={k: v for k, v in body.items() if v is not None})
        return result

    def rollout(self, name: str) -> dict[str, Any]:
        """The latest rollout of a deployment, with history and live figures."""
        result: dict[str, Any] = self._call("GET", f"/api/v1/deployments/{name}/rollout")
        return result

    def rollouts(self, name: str) -> list[dict[str, Any]]:
        """Every rollout of a deployment, newest first."""
        result: list[dict[str, Any]] = self._call("GET", f"/api/v1/deployments/{name}/rollouts")
        return result

    def rollout_action(self, name: str, action: str, reason: str = "") -> dict[str, Any]:
        """Pause, resume, promote or abort the active rollout."""
        result: dict[str, Any] = self._call(
            "POST", f"/api/v1/deployments/{name}/rollout/{action}", json={"reason": reason})
        return result

    def revision_stats(self, name: str) -> list[dict[str, Any]]:
        """Cumulative per-revision counters."""
        result: list[dict[str, Any]] = self._call("GET", f"/api/v1/deployments/{name}/stats")
        return result

    def quotas(self) -> list[dict[str, Any]]:
        """Team GPU quotas."""
        result: list[dict[str, Any]] = self._call("GET", "/api/v1/quotas")
        return result

    def set_quota(self, team: str, gpu_model: str, guaranteed: float,
                  borrow: float) -> dict[str, Any]:
        """Set a team's quota for a GPU model."""
        result: dict[str, Any] = self._call("PUT", f"/api/v1/quotas/{team}/{gpu_model}",
                                            json={"guaranteed": guaranteed, "borrow": borrow})
        return result

    def nodes(self) -> list[dict[str, Any]]:
        """The node inventory."""
        result: list[dict[str, Any]] = self._call("GET", "/api/v1/nodes")
        return result

    def node(self, name: str) -> dict[str, Any]:
        """One node."""
        result: dict[str, Any] = self._call("GET", f"/api/v1/nodes/{name}")
        return result

    def declare_node(self, **body: Any) -> dict[str, Any]:
        """Declare a node or its GPUs."""
        result: dict[str, Any] = self._call("POST", "/api/v1/nodes", json=body)
        return result

    def node_action(self, name: str, action: str) -> dict[str, Any]:
        """cordon, uncordon or drain a node."""
        result: dict[str, Any] = self._call("POST", f"/api/v1/nodes/{name}/{action}")
        return result

    def remove_node(self, name: str) -> None:
        """Forget a node."""
        self._call("DELETE", f"/api/v1/nodes/{name}")
