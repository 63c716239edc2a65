"""A bounded schemathesis run against the project's own OpenAPI documents.

Both planes of a real ``modelyard up`` process, with a Ready iris replica behind the
gateway: no 5xx, and every response matches the document (status, content type, body).
Bounded to a few examples per operation so the whole run stays well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sklearn.linear_model import LogisticRegression

from tests.support.databases import fresh_postgres
from tests.support.platform import PlatformProcess, cleanup_replicas, wait_for

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 8


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory,
           iris_model: tuple[Path, LogisticRegression]) -> Iterator[PlatformProcess]:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    p = PlatformProcess(home, env={"MODELYARD_SERVER__ROUTE_WATCH_TIMEOUT_S": "0.2",
                                   "MODELYARD_GATEWAY__MAX_BODY_BYTES": "65536"}).start()
    try:
        c = p.client()
        c.register("iris", iris_model[0], framework="sklearn")
        c.deploy(name="iris", model="iris", version=1, replicas=1)
        wait_for(lambda: c.deployment("iris")["status"] == "ready")
        yield p
    finally:
        p.stop()
        cleanup_replicas(home)


def _schema(p: PlatformProcess, path: str) -> Any:
    schema = schemathesis.openapi.from_url(f"{p.url}{path}",
                                           headers={"Authorization": f"Bearer {p.key}"})
    schema.config.update(base_url=p.url, headers={"Authorization": f"Bearer {p.key}"})
    schema.config.generation.update(max_examples=MAX_EXAMPLES)
    return schema


def fuzz(schema: Any) -> list[str]:
    """Run every operation of ``schema`` with positive and negative examples; list failures."""
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: list[int] = []
    for operation in operations:
        for mode, examples in ((GenerationMode.POSITIVE, MAX_EXAMPLES),
                               (GenerationMode.NEGATIVE, MAX_EXAMPLES // 2)):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                statuses.append(case.call_and_validate(checks=CHECKS).status_code)

            try:
                run()
            except Unsatisfiable:
                pass  # nothing about this operation can be made invalid (no parameters)
            except Exception as exc:  # collect every operation's failure, then report all
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    assert len(statuses) >= 2 * len(operations) >= 2, (len(statuses), len(operations))
    assert {200, 404} <= set(statuses), sorted(set(statuses))
    return failures


def test_control_plane_api(fuzzed: PlatformProcess) -> None:
    failures = fuzz(_schema(fuzzed, "/api/v1/openapi.json"))
    assert not failures, "\n\n".join(failures)


def test_gateway(fuzzed: PlatformProcess) -> None:
    failures = fuzz(_schema(fuzzed, "/openapi.json"))
    assert not failures, "\n\n".join(failures)


@pytest.mark.postgres
def test_nul_characters_are_refused_before_postgresql(tmp_path: Path) -> None:
    """PostgreSQL cannot store NUL; the API refuses it with 400 instead of failing with 500."""
    with fresh_postgres() as url:
        p = PlatformProcess(tmp_path / "home", "server", env={"DATABASE_URL": url}).start()
        try:
            with p.http() as http:
                for method, path, body in [
                    ("GET", "/api/v1/models/a%00b", None),
                    ("GET", "/api/v1/deployments/x%00", None),
                    ("DELETE", "/api/v1/keys/x%00", None),
                    ("GET", "/api/v1/audit?actor=a%00", None),
                    ("POST", "/api/v1/teams", {"name": "a\u0000"}),
                    ("POST", "/api/v1/deployments", {"name": "d", "model": "m", "version": 1,
                                                     "message": "\u0000"}),
                ]:
                    resp = http.request(method, path, **({"json": body} if body else {}))
                    assert (resp.status_code, resp.json()["error"]["code"]) == (
                        400, "invalid_request"), (path, resp.text)
                odd = b"Bearer my_" + "\u00e9\u00e9\u00e9\u00e9".encode() + b"_x"
                bad_key = http.get("/api/v1/models", headers={"Authorization": odd})
                assert bad_key.status_code == 401
                assert http.get("/api/v1/models").status_code == 200
        finally:
            p.stop()
