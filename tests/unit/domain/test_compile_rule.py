"""Which deployments may ask for a compiled forward graph (``deploy --compile``)."""

from __future__ import annotations

import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.frameworks import COMPILABLE, FRAMEWORKS, check_compile


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_not_asking_is_always_fine(framework: str) -> None:
    check_compile(framework, None, False)
    check_compile(framework, "vllm", False)


def test_the_embeddings_runtime_compiles() -> None:
    assert "embeddings" in COMPILABLE
    check_compile("embeddings", None, True)


@pytest.mark.parametrize("framework", sorted(set(FRAMEWORKS) - COMPILABLE))
def test_other_runtimes_are_refused_with_a_reason(framework: str) -> None:
    with pytest.raises(ModelyardError) as err:
        check_compile(framework, None, True)
    assert err.value.code == ErrorCode.INVALID_REQUEST
    assert framework in err.value.message and "embeddings" in err.value.message


def test_engines_are_refused() -> None:
    with pytest.raises(ModelyardError) as err:
        check_compile("embeddings", "vllm", True)
    assert err.value.code == ErrorCode.INVALID_REQUEST and "engine" in err.value.message
