"""The Prometheus exposition of the dashboard's figures (`figures.snapshot`), as gauges:

- itembank_items{status}
- itembank_embeddings{space,state}        state: embedded, stale, failed, missing
- itembank_queue_depth{queue}             absent while the broker cannot be reached
- itembank_broker_up                      1 when the broker answered the heartbeat
- itembank_workers_up{queue}              workers answering now that consume the queue
- itembank_search_latency_ms{window,quantile}   successful searches; window 1h or 24h
- itembank_search_requests{window}, itembank_search_errors{window}
- itembank_task_failures{source}          embedding: EmbeddingFailure rows now;
                                          celery: failed task results in the last 24 h
- itembank_disk_bytes{relation,kind}      see figures.Disk
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import figures

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ItembankCollector(Collector):
    def __init__(self, snapshot: figures.Snapshot | None = None) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot or figures.snapshot()

        items = GaugeMetricFamily("itembank_items", "Items by status.", labels=["status"])
        for status, count in snap.items.items():
            items.add_metric([status], count)
        yield items

        embeddings = GaugeMetricFamily(
            "itembank_embeddings",
            "Items of each embedding space by state of their vector.",
            labels=["space", "state"],
        )
        for space in snap.spaces:
            for state, count in space.states().items():
                embeddings.add_metric([space.name, state], count)
        yield embeddings

        depth = GaugeMetricFamily(
            "itembank_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        for queue, count in snap.queues.items():
            if count is not None:
                depth.add_metric([queue], count)
        yield depth

        yield GaugeMetricFamily(
            "itembank_broker_up",
            "1 when the Celery broker answered the last heartbeat, else 0.",
            value=1 if snap.heartbeat.reachable else 0,
        )
        workers = GaugeMetricFamily(
            "itembank_workers_up",
            "Celery workers answering a ping that consume the queue.",
            labels=["queue"],
        )
        for queue in snap.heartbeat.queues():
            workers.add_metric([queue], snap.heartbeat.up(queue))
        yield workers

        latency = GaugeMetricFamily(
            "itembank_search_latency_ms",
            "Wall time of successful searches served to users (percentiles over the window).",
            labels=["window", "quantile"],
        )
        requests = GaugeMetricFamily(
            "itembank_search_requests",
            "Searches served to users within the window.",
            labels=["window"],
        )
        errors = GaugeMetricFamily(
            "itembank_search_errors", "Searches that failed within the window.", labels=["window"]
        )
        for window in snap.latency:
            for quantile, value in window.overall.quantiles().items():
                if value is not None:
                    latency.add_metric([window.window, str(quantile)], value)
            requests.add_metric([window.window], window.overall.count)
            errors.add_metric([window.window], window.overall.errors)
        yield latency
        yield requests
        yield errors

        failures = GaugeMetricFamily(
            "itembank_task_failures",
            "Embedding failures not yet resolved, and Celery tasks failed in the last 24 h.",
            labels=["source"],
        )
        failures.add_metric(["embedding"], snap.failures.embedding_total)
        failures.add_metric(["celery"], snap.failures.tasks_total)
        yield failures

        disk = GaugeMetricFamily(
            "itembank_disk_bytes",
            "Bytes on disk of tables, indexes, the database and the media files.",
            labels=["relation", "kind"],
        )
        for row in snap.disk:
            if row.bytes is not None:
                disk.add_metric([row.relation, row.kind], row.bytes)
        yield disk


def exposition(snapshot: figures.Snapshot | None = None) -> bytes:
    """The text exposition (format 0.0.4) of the figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ItembankCollector(snapshot))
    return generate_latest(registry)
