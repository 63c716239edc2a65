"""Error codes map to statuses; names are validated."""

from __future__ import annotations

import pytest

from modelyard.domain.errors import (
    ERROR_STATUS,
    ErrorCode,
    ModelyardError,
    error_body,
    error_headers,
)
from modelyard.domain.ids import check_name, is_valid_name


def test_every_code_has_a_status() -> None:
    assert set(ERROR_STATUS) == set(ErrorCode)
    for code in ErrorCode:
        status, message = ERROR_STATUS[code]
        assert 400 <= status < 600 and message
        assert code.value == code.value.lower()


def test_only_internal_is_500() -> None:
    assert [c for c in ErrorCode if ERROR_STATUS[c][0] == 500] == [ErrorCode.INTERNAL]


def test_envelope_and_retry_after() -> None:
    err = ModelyardError(ErrorCode.NO_READY_REPLICA, "none", retry_after_s=0.2)
    assert error_body(err) == {"error": {"code": "no_ready_replica", "message": "none"}}
    assert error_headers(err) == {"Retry-After": "1"}
    assert err.status == 503


@pytest.mark.parametrize("name", ["iris", "a", "my-model_2.1", "x" * 63])
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "Iris", "-a", ".", "..", "a/b", "../etc", "a..b", "x" * 64,
                                  "a b", "a\0b", "é"])
def test_invalid_names(name: str) -> None:
    assert not is_valid_name(name)
    with pytest.raises(ModelyardError) as info:
        check_name(name)
    assert info.value.code == ErrorCode.INVALID_NAME
