"""Counters and histograms for the data plane's per-request path, exported through Prometheus.

``prometheus_client`` takes a lock and runs several Python calls per update, and the
gateway updates about a dozen series per request: that was a tenth of its CPU. These
types keep plain numbers per label set (updates come from one event loop thread; a
scrape only reads) and register a collector that renders them in the same exposition
format, names and label sets as ``prometheus_client``'s own ``Counter`` and ``Histogram``.
They offer what the hot path uses: ``labels(*values)`` then ``inc`` or ``observe``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

C = TypeVar("C")


class CounterChild:
    """One label set of a counter."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount`` (not negative)."""
        if amount < 0:
            raise ValueError("counters only go up")
        self.value += amount


class HistogramChild:
    """One label set of a histogram: a count per bucket (not cumulative) and the sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count one observation."""
        self.sum += value
        self.counts[bisect_left(self.bounds, value)] += 1


class _Family(Generic[C]):
    """A labelled family: one child per label set, made on first use; a registry collector."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str],
                 registry: CollectorRegistry | None) -> None:
        self._name = name
        self._doc = documentation
        self._labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], C] = {}
        if registry is not None:
            registry.register(self)  # type: ignore[arg-type]  # a collector by describe/collect

    def _new_child(self) -> C:
        raise NotImplementedError

    def labels(self, *values: str) -> C:
        """The child of one label set (made on first use)."""
        if len(values) != len(self._labelnames):
            raise ValueError(f"{self._name} takes labels {self._labelnames}")
        child = self._children.get(values)
        if child is None:
            child = self._children[tuple(str(v) for v in values)] = self._new_child()
        return child


class HotCounter(_Family[CounterChild]):
    """A labelled counter (``<name>_total``)."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str],
                 registry: CollectorRegistry | None = REGISTRY) -> None:
        super().__init__(name.removesuffix("_total"), documentation, labelnames, registry)

    def _new_child(self) -> CounterChild:
        return CounterChild()

    def describe(self) -> Iterator[Metric]:
        """The family, without samples (for the registry's duplicate check)."""
        yield CounterMetricFamily(self._name, self._doc, labels=self._labelnames)

    def collect(self) -> Iterator[Metric]:
        """The family with one ``_total`` sample per label set."""
        family = CounterMetricFamily(self._name, self._doc, labels=self._labelnames)
        for values, child in list(self._children.items()):
            family.add_metric(list(values), child.value)
        yield family


class HotHistogram(_Family[HistogramChild]):
    """A labelled histogram (``_bucket``, ``_count``, ``_sum``) with fixed bucket bounds."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str],
                 buckets: Sequence[float], registry: CollectorRegistry | None = REGISTRY) -> None:
        bounds = sorted(float(b) for b in buckets)
        if bounds[-1] != float("inf"):
            bounds.append(float("inf"))
        self._bounds = tuple(bounds)
        super().__init__(name, documentation, labelnames, registry)

    def _new_child(self) -> HistogramChild:
        return HistogramChild(self._bounds)

    def describe(self) -> Iterator[Metric]:
        """The family, without samples (for the registry's duplicate check)."""
        yield HistogramMetricFamily(self._name, self._doc, labels=self._labelnames)

    def collect(self) -> Iterator[Metric]:
        """The family with cumulative buckets, the count and the sum per label set."""
        family = HistogramMetricFamily(self._name, self._doc, labels=self._labelnames)
        for values, child in list(self._children.items()):
            running, buckets = 0, []
            for bound, n in zip(self._bounds, list(child.counts), strict=True):
                running += n
                buckets.append((_le(bound), running))
            family.add_metric(list(values), buckets, child.sum)
        yield family


def _le(bound: float) -> str:
    """A bucket bound as Prometheus writes it (``0.005``, ``1.0``, ``+Inf``)."""
    return "+Inf" if bound == float("inf") else repr(bound)
