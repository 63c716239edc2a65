"""Pure traffic split: weights within ±2 points over 1,000 requests, pinning, shadow share."""

from __future__ import annotations

from collections import Counter

import pytest

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import Endpoint, RouteEntry
from modelyard.gateway.split import choose_revision, is_shadowed, parse_pin


def route(weights: tuple[tuple[int, int], ...], revisions: tuple[int, ...] = (1, 2)) -> RouteEntry:
    eps = tuple(Endpoint(f"r{rev}", f"http://x/{rev}", rev) for rev in revisions)
    return RouteEntry("d", "t", "dev", "m", "sklearn", eps, weights=weights)


def run(r: RouteEntry, n: int) -> Counter[int | None]:
    scores: dict[int, int] = {}
    seen: Counter[int | None] = Counter()
    for _ in range(n):
        rev, scores = choose_revision(r, None, scores)
        seen[rev] += 1
    return seen


@pytest.mark.parametrize("weight", [1, 5, 10, 25, 33, 50, 67, 90, 99])
def test_weights_honoured_within_two_points_over_1000(weight: int) -> None:
    seen = run(route(((1, 100 - weight), (2, weight))), 1000)
    assert abs(seen[2] / 1000 - weight / 100) <= 0.02
    assert seen[1] + seen[2] == 1000


@pytest.mark.parametrize("n", [7, 100, 333, 1000])
def test_every_prefix_is_within_one_request(n: int) -> None:
    seen = run(route(((1, 70), (2, 30))), n)
    assert abs(seen[2] - n * 0.3) <= 1


def test_picks_interleave() -> None:
    scores: dict[int, int] = {}
    picks = []
    for _ in range(10):
        rev, scores = choose_revision(route(((1, 50), (2, 50))), None, scores)
        picks.append(rev)
    assert picks.count(1) == picks.count(2) == 5
    assert all(a != b for a, b in zip(picks, picks[1:], strict=False))


def test_no_weights_means_every_endpoint() -> None:
    assert choose_revision(route(()), None, {})[0] is None


def test_revision_without_ready_endpoint_is_skipped() -> None:
    seen = run(route(((1, 50), (2, 50)), revisions=(1,)), 100)
    assert seen == Counter({1: 100})


def test_nothing_weighted_is_ready_names_first_weighted() -> None:
    assert choose_revision(route(((3, 100),), revisions=(1,)), None, {})[0] == 3


def test_pin() -> None:
    r = route(((1, 100),))
    assert choose_revision(r, 2, {})[0] == 2
    with pytest.raises(ModelyardError) as err:
        choose_revision(r, 7, {})
    assert err.value.code == ErrorCode.REVISION_NOT_FOUND


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), (" 3 ", 3)])
def test_parse_pin(value: str | None, expected: int | None) -> None:
    assert parse_pin(value) == expected


@pytest.mark.parametrize("value", ["x", "-1", "1.5", "9" * 12])
def test_parse_pin_rejects(value: str) -> None:
    with pytest.raises(ModelyardError) as err:
        parse_pin(value)
    assert err.value.code == ErrorCode.INVALID_REQUEST


@pytest.mark.parametrize("percent", [0, 1, 10, 33, 50, 100])
def test_shadow_share_exact_per_hundred(percent: int) -> None:
    assert sum(is_shadowed(percent, i) for i in range(1000)) == percent * 10


def test_route_entry_round_trips_weights_and_shadow() -> None:
    from modelyard.domain.routes import RouteTable

    entry = RouteEntry("d", "t", "dev", "m", "sklearn", (Endpoint("a", "http://a", 2),),
                       weights=((1, 90), (2, 10)), shadow_revision=3, shadow_percent=25)
    table = RouteTable(5, {"d": entry})
    assert RouteTable.from_json(table.to_json()).routes["d"] == entry


@pytest.mark.parametrize(("stable", "candidate", "differ"), [
    (b'{"outputs":[{"name":"predict","data":[1]}]}', b'{"outputs":[{"name":"predict","data":[1]}]}',
     False),
    (b'{"outputs":[{"name":"predict","data":[1]}]}', b'{"outputs":[{"name":"predict","data":[2]}]}',
     True),
    (b'{"predictions":[0]}', b'{"predictions":[0]}', False),
    (b'{"predictions":[0]}', b'not json', True),
    (b'not json', b'{"predictions":[0]}', None),
    (b'{"choices":[]}', b'{"choices":[]}', None),
])
def test_shadow_disagreement(stable: bytes, candidate: bytes, differ: bool | None) -> None:
    from modelyard.gateway.shadow import disagrees

    assert disagrees(stable, candidate) is differ
