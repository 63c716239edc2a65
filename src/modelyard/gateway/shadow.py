"""Pure: compare a shadow candidate's answer with stable's (for classifiers and regressors).

Answers are compared on their predictions only: OIP v2 ``outputs`` (the ``predict``
output, else the first) and KServe v1 ``predictions``. Anything else (OpenAI answers,
bodies that are not JSON) is not comparable and returns None.
"""

from __future__ import annotations

from typing import Any

import orjson


def _predictions(body: bytes) -> Any:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("predictions"), list):
        return data["predictions"]
    outputs = data.get("outputs")
    if isinstance(outputs, list) and outputs and all(isinstance(o, dict) for o in outputs):
        chosen = next((o for o in outputs if o.get("name") == "predict"), outputs[0])
        return chosen.get("data")
    return None


def disagrees(stable_body: bytes, candidate_body: bytes) -> bool | None:
    """True when the predictions differ, False when equal, None when not comparable."""
    stable = _predictions(stable_body)
    if stable is None:
        return None
    candidate = _predictions(candidate_body)
    if candidate is None:
        return True
    return bool(stable != candidate)
