"""Every metric attribute is named as the metric it exports, so a grep for either finds both."""

from __future__ import annotations

from prometheus_client.metrics import MetricWrapperBase

from ccbridge.observability.metrics import Metrics


def test_attribute_names_match_the_exported_metric_names() -> None:
    """`metrics.events_received` exports `ccbridge_events_received_total`, and so on for each."""
    metrics = Metrics()
    exported = {
        name: [family.name for family in metric.describe()]
        for name, metric in vars(metrics).items()
        if isinstance(metric, MetricWrapperBase)
    }
    assert len(exported) >= 12
    assert exported == {name: [f"ccbridge_{name}"] for name in exported}
