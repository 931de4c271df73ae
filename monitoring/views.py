"""The operations dashboard (admins), the Prometheus endpoint and the health check."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from itembank.models import ItemStatus
from itembank.permissions import can_administer, require

from . import figures, health, metrics
from .models import SearchTiming


@require(can_administer)
@require_GET
@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    """Everything at a glance; the body refreshes itself every 30 s (htmx)."""
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.boosted
    template = "monitoring/_body.html" if partial else "monitoring/ops.html"
    return render(request, template, dashboard_context(figures.snapshot()))


DISK_TITLES = {
    ("embeddings_itemembedding", "total"): gettext_lazy("Vectors: table and indexes"),
    ("embeddings_itemembedding", "table"): gettext_lazy("Vectors: table"),
    ("embeddings_itemembedding", "indexes"): gettext_lazy("Vectors: all indexes"),
    ("itembank_item", "total"): gettext_lazy("Items: table and indexes"),
    ("itembank_item", "table"): gettext_lazy("Items: table"),
    ("itembank_item", "indexes"): gettext_lazy("Items: indexes"),
    ("monitoring_searchtiming", "total"): gettext_lazy("Search timings"),
    ("database", "total"): gettext_lazy("Whole database"),
    ("media", "files"): gettext_lazy("Media files (figures, imports)"),
}


def dashboard_context(snap: figures.Snapshot) -> dict:
    """The snapshot, with the rows the template shows in the order it shows them."""
    sources = dict(SearchTiming.Source.choices)
    statuses = [
        {"value": value, "label": label, "count": snap.items.get(value, 0)}
        for value, label in ItemStatus.choices
    ]
    queue_rows = [
        {"name": queue, "depth": snap.queues.get(queue), "up": snap.heartbeat.up(queue)}
        for queue in dict.fromkeys([*snap.queues, *snap.heartbeat.queues()])
    ]
    window_titles = {"1h": _("Last hour"), "24h": _("Last 24 hours")}
    latency_rows = []
    for window in snap.latency:
        rows = [(_("All"), window.overall)]
        rows += [(_("Mode %(mode)s") % {"mode": r.group or "—"}, r) for r in window.by_mode]
        rows += [
            (_("From %(source)s") % {"source": sources.get(r.group, r.group)}, r)
            for r in window.by_source
        ]
        latency_rows.append(
            {
                "window": window.window,
                "title": window_titles.get(window.window, window.window),
                "rows": [
                    {"title": title, "figures": r, "percent_errors": 100 * r.error_rate}
                    for title, r in rows
                ],
            }
        )
    disk_rows = []
    for row in snap.disk:
        if row.kind == "index":
            title = _("HNSW index of %(space)s") % {"space": row.space}
        else:
            title = DISK_TITLES.get((row.relation, row.kind), row.relation)
        disk_rows.append({"title": title, "row": row})
    return {
        "snap": snap,
        "statuses": statuses,
        "queue_rows": queue_rows,
        "latency_rows": latency_rows,
        "disk_rows": disk_rows,
    }


def _bearer_ok(request: HttpRequest) -> bool | None:
    """True/False for a bearer token that matches/does not match ITEMBANK_METRICS_TOKEN; None
    when no token is configured or none was sent."""
    token = settings.ITEMBANK_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if not token or not header.startswith("Bearer "):
        return None
    return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), token.encode())


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format. A scraper sends ``Authorization: Bearer <ITEMBANK_METRICS_TOKEN>``;
    a logged-in admin may also look. 401 otherwise (403 for a logged-in non-admin)."""
    bearer = _bearer_ok(request)
    if bearer is None and request.user.is_authenticated:
        if not can_administer(request.user):
            return HttpResponse(status=403)
    elif not bearer:
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """{"database": "ok"|"down", "broker": "ok"|"down"}: 200 while the database answers, else
    503 (the web app works without the broker, so it does not decide the status)."""
    body = {"database": health.database_status(), "broker": health.broker_status()}
    return JsonResponse(body, status=200 if body["database"] == "ok" else 503)
