"""Re-export an engine's Prometheus metrics under modelyard's names.

``translate`` parses an engine's exposition text and keeps the families its adapter maps
(``Adapter.metrics``), renamed to ``ENGINE_METRIC_NAMES`` and labelled with the replica.
Histograms keep their ``_bucket``/``_sum``/``_count`` samples. Unknown families are
dropped, so dashboards see one vocabulary whatever the engine. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from modelyard.observability.metrics_replica import ENGINE_METRIC_NAMES

_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


@dataclass(frozen=True)
class Sample:
    """One re-exported sample."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


def _family_of(sample_name: str, family: str) -> str | None:
    if sample_name == family:
        return ""
    suffix = sample_name[len(family):]
    return suffix if sample_name.startswith(family) and suffix in _SUFFIXES else None


def translate(text: str, mapping: Mapping[str, str],
              extra_labels: Mapping[str, str] | None = None) -> list[Sample]:
    """The samples of ``text`` whose family ``mapping`` knows, under modelyard names."""
    out: list[Sample] = []
    extra = dict(extra_labels or {})
    for family in text_string_to_metric_families(text):
        signal = mapping.get(family.name) or mapping.get(family.name.removesuffix("_total"))
        if signal is None:
            continue
        target = ENGINE_METRIC_NAMES[signal]
        for s in family.samples:
            suffix = _family_of(s.name, family.name)
            if suffix is None or suffix == "_created":
                continue
            labels = {**{k: v for k, v in s.labels.items() if k != "model_name"}, **extra}
            out.append(Sample(target + suffix, tuple(sorted(labels.items())), float(s.value)))
    return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(samples: Iterable[Sample]) -> str:
    """Prometheus exposition text of ``samples`` (no HELP/TYPE lines)."""
    lines = []
    for s in samples:
        labels = ",".join(f'{k}="{_escape(v)}"' for k, v in s.labels)
        lines.append(f"{s.name}{{{labels}}} {s.value!r}" if labels else f"{s.name} {s.value!r}")
    return "\n".join(lines) + ("\n" if lines else "")
