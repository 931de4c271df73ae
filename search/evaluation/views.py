"""The evaluation dashboard (reviewers and admins; teachers get 403): ground-truth sets, runs
side by side, per-category bars, α-sweep curves, the trend on the expert set as labels
accumulate, and agreement with the experts. Admins build sets and start runs from the page.
Charts are inline SVG drawn by `charts`; the page refreshes itself while runs are in progress.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from embeddings.models import EmbeddingSpace
from itembank import jobs
from itembank.permissions import can_administer, can_review, require

from . import charts, evaluate, groundtruth, metrics, report
from .forms import CombineForm, ImportForm, PlantedForm, RunForm, TfidfForm
from .models import EvaluationRun, GroundTruthSet

logger = logging.getLogger(__name__)

TABLE_METRICS = ("recall@1", "recall@5", "recall@10", "recall@20", "mrr", "map", "ndcg@10")
CATEGORIES = ("image", "latex", "text")
SWEEP_METRICS = ("recall@5", "recall@10", "mrr", "map", "ndcg@10")
TREND_RUNS = 30


def _category_names() -> dict[str, str]:
    return {"image": _("With images"), "latex": _("With LaTeX"), "text": _("Text only")}


def _selected_set(request: HttpRequest, sets) -> GroundTruthSet | None:
    name = request.GET.get("gt", "")
    chosen = next((s for s in sets if s.name == name), None)
    if chosen is None:
        chosen = next((s for s in sets if s.kind == GroundTruthSet.Kind.EXPERT and s.size), None)
        chosen = chosen or next((s for s in sets if s.size), None)
    return chosen


def _space_label(name: str) -> str:
    space = EmbeddingSpace.objects.filter(name=name).first()
    return space.label if space and space.label else name


def _sweep_chart(gt_set: GroundTruthSet):
    latest = (
        EvaluationRun.objects.filter(
            gt_set=gt_set, sweep__startswith="alpha-", status=EvaluationRun.Status.SUCCEEDED
        )
        .order_by("-created_at")
        .values_list("sweep", flat=True)
        .first()
    )
    if not latest:
        return None, ""
    runs = sorted(
        EvaluationRun.objects.filter(
            gt_set=gt_set, sweep=latest, status=EvaluationRun.Status.SUCCEEDED
        ),
        key=lambda r: r.alpha if r.alpha is not None else -1,
    )
    labels = [f"{r.alpha:g}" if r.alpha is not None else "?" for r in runs]
    series = {name: [r.metrics["overall"].get(name) for r in runs] for name in SWEEP_METRICS}
    title = _("α sweep on %(set)s (%(space)s)") % {
        "set": gt_set.name,
        "space": _space_label(runs[0].space_name) if runs else "",
    }
    return charts.line_chart(title, labels, series), latest


def _trend_chart(metric: str):
    expert = GroundTruthSet.objects.filter(name=groundtruth.EXPERT_SET).first()
    if expert is None:
        return None
    runs = list(
        EvaluationRun.objects.filter(gt_set=expert, status=EvaluationRun.Status.SUCCEEDED).order_by(
            "-finished_at"
        )[:TREND_RUNS]
    )[::-1]
    if len(runs) < 2:
        return None
    configs: dict[str, list] = {}
    for index, run in enumerate(runs):
        configs.setdefault(run.label, [None] * len(runs))[index] = run.metrics["overall"].get(
            metric
        )
    labels = [f"{timezone.localtime(r.finished_at):%m-%d %H:%M}" for r in runs]
    title = _("%(metric)s on the expert set over time") % {"metric": metric}
    return charts.line_chart(title, labels, configs)


@require_GET
@require(can_review)
def dashboard(request: HttpRequest) -> HttpResponse:
    sets = list(
        GroundTruthSet.objects.annotate(
            size=Count("pairs"), query_count=Count("pairs__query", distinct=True)
        ).order_by("name")
    )
    gt_set = _selected_set(request, sets)
    metric = request.GET.get("metric", "recall@5")
    if metric not in metrics.metric_names():
        metric = "recall@5"
    runs = report.latest_runs(gt_set) if gt_set else []
    category_chart = None
    if runs:
        names = _category_names()
        category_chart = charts.bar_chart(
            _("%(metric)s by category") % {"metric": metric},
            [names[c] for c in CATEGORIES],
            {
                run.label: [
                    run.metrics.get("by_category", {}).get(c, {}).get(metric) for c in CATEGORIES
                ]
                for run in runs
            },
        )
    sweep_chart, sweep = _sweep_chart(gt_set) if gt_set else (None, "")
    active = list(
        EvaluationRun.objects.filter(
            status__in=[EvaluationRun.Status.QUEUED, EvaluationRun.Status.RUNNING]
        ).select_related("gt_set", "created_by")
    )
    failed = list(
        EvaluationRun.objects.filter(status=EvaluationRun.Status.FAILED).select_related("gt_set")[
            :5
        ]
    )
    agreement, expert_pos, expert_neg = report.disagreement_table()
    context = {
        "sets": sets,
        "gt_set": gt_set,
        "metric": metric,
        "metric_names": metrics.metric_names(),
        "table_metrics": TABLE_METRICS,
        "runs": runs,
        "rows": [
            {
                "run": run,
                "values": [run.metrics["overall"].get(name) for name in TABLE_METRICS],
                "categories": [
                    run.metrics.get("by_category", {}).get(c, {}).get("queries", 0)
                    for c in CATEGORIES
                ],
            }
            for run in runs
        ],
        "category_names": [_category_names()[c] for c in CATEGORIES],
        "category_chart": category_chart,
        "sweep_chart": sweep_chart,
        "sweep": sweep,
        "trend_chart": _trend_chart(metric),
        "active": active,
        "failed": failed,
        "agreement": agreement,
        "expert_positive": expert_pos,
        "expert_negative": expert_neg,
        "can_manage": can_administer(request.user),
        "llm_enabled": bool(getattr(settings, "ITEMBANK_LLM_URL", "")),
    }
    if context["can_manage"]:
        context.update(
            tfidf_form=TfidfForm(prefix="tfidf"),
            planted_form=PlantedForm(prefix="planted"),
            combine_form=CombineForm(prefix="combine"),
            import_form=ImportForm(prefix="import"),
            run_form=RunForm(prefix="run", initial={"gt_set": gt_set.name if gt_set else None}),
        )
    return render(request, "evaluation/dashboard.html", context)


@require_GET
@require(can_review)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(EvaluationRun.objects.select_related("gt_set", "created_by"), pk=pk)
    names = _category_names()
    groups = []
    if run.status == EvaluationRun.Status.SUCCEEDED:
        overall = run.metrics.get("overall", {})
        groups.append((_("All queries"), overall))
        for key, values in run.metrics.get("by_category", {}).items():
            groups.append((names.get(key, key), values))
        for key, values in run.metrics.get("by_subject", {}).items():
            groups.append((key, values))
    return render(
        request,
        "evaluation/run_detail.html",
        {"run": run, "groups": groups, "metric_names": metrics.metric_names()},
    )


@require_GET
@require(can_review)
def export_set(request: HttpRequest, pk: int) -> HttpResponse:
    gt_set = get_object_or_404(GroundTruthSet, pk=pk)
    body = json.dumps(groundtruth.export_json(gt_set), ensure_ascii=False, indent=1)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ground-truth-{gt_set.pk}.json"'
    return response


@require_GET
@require(can_review)
def report_json(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(report.json_report(), json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="evaluation-report.json"'
    return response


def _back(request: HttpRequest, gt_name: str | None = None) -> HttpResponse:
    url = reverse("evaluation:dashboard")
    if gt_name:
        url += "?" + urlencode({"gt": gt_name})
    return redirect(url)


def _form_errors(request: HttpRequest, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


@require_POST
@require(can_administer)
def build_set(request: HttpRequest, kind: str) -> HttpResponse:
    try:
        if kind == "tfidf":
            form = TfidfForm(request.POST, prefix="tfidf")
            if not form.is_valid():
                _form_errors(request, form)
                return _back(request)
            gt_set, built = groundtruth.build_tfidf(
                form.cleaned_data["name"], form.cleaned_data["top_k"], user=request.user
            )
        elif kind == "planted":
            form = PlantedForm(request.POST, prefix="planted")
            if not form.is_valid():
                _form_errors(request, form)
                return _back(request)
            path = settings.DATA_DIR / "demo" / "ground_truth_planted.json"
            gt_set, built = groundtruth.build_planted(
                path, form.cleaned_data["name"], user=request.user
            )
        elif kind == "combine":
            form = CombineForm(request.POST, prefix="combine")
            if not form.is_valid():
                _form_errors(request, form)
                return _back(request)
            data = form.cleaned_data
            gt_set = groundtruth.combine(
                data["a"], data["b"], data["op"], data["name"] or None, user=request.user
            )
            built = None
        elif kind == "import":
            form = ImportForm(request.POST, request.FILES, prefix="import")
            if not form.is_valid():
                _form_errors(request, form)
                return _back(request)
            upload = form.cleaned_data["file"]
            if upload.size > groundtruth.MAX_FILE_BYTES:
                messages.error(request, _("The file is too large."))
                return _back(request)
            name = form.cleaned_data["name"] or upload.name.rsplit(".", 1)[0]
            document = groundtruth.load_document(upload.read())
            if not form.cleaned_data["name"] and document.get("name"):
                name = str(document["name"])
            gt_set, built = groundtruth.import_json(
                document, name=name, kind=form.cleaned_data["kind"] or None, user=request.user
            )
        else:
            messages.error(request, _("Unknown kind of ground truth."))
            return _back(request)
    except groundtruth.GroundTruthError as exc:
        messages.error(request, str(exc))
        return _back(request)
    text = _("Ground-truth set %(name)s saved.") % {"name": gt_set.name}
    if built is not None:
        text += " " + built.summary()
    messages.success(request, text)
    return _back(request, gt_set.name)


@require_POST
@require(can_administer)
def start_run(request: HttpRequest) -> HttpResponse:
    form = RunForm(request.POST, prefix="run")
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request)
    data = form.cleaned_data
    gt_set = data["gt_set"]
    space = data["space"].name if data["space"] else None
    try:
        if data["sweep"] == "alpha":
            runs = evaluate.plan_alpha_sweep(
                gt_set, space, k=data["k"], rerank=data["rerank"], user=request.user
            )
        elif data["sweep"] == "rerank":
            runs = evaluate.plan_rerank_sweep(
                gt_set,
                space,
                mode=data["mode"],
                alpha=data["alpha"],
                k=data["k"],
                user=request.user,
            )
        elif data["sweep"] == "spaces":
            names = list(
                EmbeddingSpace.objects.filter(enabled=True)
                .order_by("name")
                .values_list("name", flat=True)
            )
            runs = evaluate.plan_space_sweep(
                gt_set,
                names,
                mode=data["mode"],
                alpha=data["alpha"],
                k=data["k"],
                rerank=data["rerank"],
                user=request.user,
            )
        else:
            runs = [
                evaluate.create_run(
                    gt_set,
                    space=space,
                    mode=data["mode"],
                    alpha=data["alpha"],
                    rerank=data["rerank"],
                    k=data["k"],
                    user=request.user,
                )
            ]
    except evaluate.EvaluationError as exc:
        messages.error(request, str(exc))
        return _back(request, gt_set.name)
    for run in runs:
        evaluate.enqueue(run)
    if EvaluationRun.objects.filter(
        pk__in=[run.pk for run in runs], status=EvaluationRun.Status.QUEUED, sent_at=None
    ).exists():
        messages.warning(request, jobs.WAITING_FOR_QUEUE)
    messages.success(
        request,
        _("%(count)d evaluation runs queued.") % {"count": len(runs)}
        if len(runs) != 1
        else _("Evaluation run queued."),
    )
    return _back(request, gt_set.name)
