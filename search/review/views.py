"""The reviewer workspace: campaigns with each reviewer's progress, the labelling queue (one pair
at a time, side by side, keyboard first), and for admins new campaigns, adjudication of
conflicting labels, agreement figures and label export.

Reviewers and admins label; teachers get a 403. Adjudication, agreement, export and new
campaigns are for admins.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from embeddings.models import EmbeddingSpace
from itembank.models import Item, ItemImage
from itembank.permissions import require
from search.compare import compare_items
from search.evaluation.models import GroundTruthSet

from . import sampling, services
from .forms import CampaignForm
from .models import MAX_GRADE, Campaign, Label, LabelValue, ReviewPair, SamplingJob, stratum_label


def _items(*ids: int | None) -> dict[int, Item]:
    return Item.objects.prefetch_related(
        Prefetch("images", queryset=ItemImage.objects.order_by("position", "pk"))
    ).in_bulk([pk for pk in ids if pk is not None])


def _queue_url(campaign: Campaign, pair: int | None = None) -> str:
    url = reverse("review-queue", args=[campaign.pk])
    return f"{url}?pair={pair}" if pair else url


@require_GET
@require(services.can_label)
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.annotate(pair_count=Count("pairs")).order_by(
        "status", "-created_at", "-pk"
    )
    rows = [{"campaign": c, "progress": services.progress(c, request.user)} for c in campaigns]
    drawing = []
    if services.can_adjudicate(request.user):  # samples being drawn, or failed today
        drawing = SamplingJob.objects.filter(
            campaign=None, created_at__gte=timezone.now() - timedelta(days=1)
        ).select_related("created_by")[:5]
    ctx = {"rows": rows, "drawing": drawing, "needs_ground_truth": False}
    if not rows and services.can_adjudicate(request.user):
        ctx["needs_ground_truth"] = not GroundTruthSet.objects.exists()
        ctx["evaluation_url"] = _evaluation_url()
    return render(request, "review/campaign_list.html", ctx)


@require_http_methods(["GET", "POST"])
@require(services.can_adjudicate)
def campaign_create(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {
            "description": data["description"],
            "guidelines": data["guidelines"],
            "show_model_score": data["show_model_score"],
            "show_gt_label": data["show_gt_label"],
        }
        try:
            if data["samples_file"] is None:
                # Drawing the sample searches with every query of the set: in the background.
                job = sampling.start_sampling(
                    data["name"],
                    data["gt_set"],
                    sampling.SearchConfig(
                        space=data["space"].name if data["space"] else None,
                        mode=data["mode"],
                        alpha=data["alpha"],
                        k=data["k"],
                    ),
                    {"tp": data["tp"], "fp": data["fp"], "fn": data["fn"]},
                    data["seed"],
                    reviewers_per_pair=data["reviewers_per_pair"],
                    user=request.user,
                    **fields,
                )
                return redirect("review-sampling", job.pk)
            samples = sampling.parse_samples(data["samples_file"])
            campaign = sampling.create_campaign(
                data["name"],
                samples,
                gt_set=data["gt_set"],
                config={"source": request.FILES["samples_file"].name},
                reviewers_per_pair=data["reviewers_per_pair"],
                user=request.user,
                **fields,
            )
        except sampling.SamplingError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Campaign %(name)s created with %(n)d pairs.")
                % {"name": campaign.name, "n": campaign.pairs.count()},
            )
            return redirect("review-agreement", campaign.pk)
    return render(
        request, "review/campaign_form.html", {"form": form}, status=400 if form.errors else 200
    )


@require_GET
@require(services.can_adjudicate)
def sampling_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A new campaign's sample being drawn: the page, or (for htmx) its status fragment."""
    job = get_object_or_404(SamplingJob.objects.select_related("created_by", "campaign"), pk=pk)
    fragment = request.GET.get("fragment") == "1"
    template = "review/_sampling_job.html" if fragment else "review/sampling_job.html"
    return render(request, template, {"job": job})


def _pair_context(campaign: Campaign, pair: ReviewPair) -> dict:
    items = _items(pair.query_id, pair.candidate_id)
    query, candidate = items.get(pair.query_id), items.get(pair.candidate_id)
    return {
        "pair": pair,
        "query": query,
        "candidate": candidate,
        # What differs, highlighted as on the compare page (none when an item was deleted).
        "comparison": compare_items(query, candidate) if query and candidate else None,
    }


@require_GET
@require(services.can_label)
def queue(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    started = Label.objects.filter(pair__campaign=campaign, reviewer=request.user).exists()
    ctx = {
        "campaign": campaign,
        "labels": LabelValue.choices,
        "label_keys": list(zip(LabelValue.values, "123", strict=True)),
        "grades": range(MAX_GRADE + 1),
        "claim_minutes": services.CLAIM_MINUTES,  # how long a draft stays reserved
    }
    if campaign.is_open and not started and not request.GET.get("start"):
        ctx["progress"] = services.progress(campaign, request.user)
        return render(request, "review/intro.html", ctx)
    wanted = None
    if request.GET.get("pair"):
        try:
            wanted = services.pair_in_campaign(campaign, request.GET["pair"])
        except services.ReviewError as exc:
            messages.error(request, str(exc))
    label = services.open_pair(campaign, request.user, wanted) if wanted else None
    if label is None:
        if wanted is not None:
            messages.info(request, _("That pair is not yours to label now; here is the next one."))
        label = services.open_pair(campaign, request.user)
    progress = services.progress(campaign, request.user)
    ctx["progress"] = progress
    ctx["mine"] = label
    ctx["can_undo"] = Label.objects.filter(
        pair__campaign=campaign,
        reviewer=request.user,
        status__in=[Label.Status.SUBMITTED, Label.Status.SKIPPED],
    ).exists()
    if label is not None:
        ctx.update(_pair_context(campaign, label.pair))
    # The guidelines are open on the reviewer's first pair of the campaign, folded afterwards.
    ctx["guidelines_open"] = progress.done == 0
    return render(request, "review/queue.html", ctx)


@require_POST
@require(services.can_label)
def label_submit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        pair = services.pair_in_campaign(campaign, request.POST.get("pair"))
        if request.POST.get("action") == "skip":
            services.skip(campaign, pair, request.user)
            messages.info(request, _("Skipped. Press u to undo."))
        else:
            services.submit(
                campaign,
                pair,
                request.user,
                label=request.POST.get("label"),
                grade=request.POST.get("grade"),
                note=request.POST.get("note", ""),
            )
            messages.success(request, _("Saved. Press u to undo."))
    except services.ReviewError as exc:
        messages.error(request, str(exc))
        pair_id = request.POST.get("pair")
        return redirect(_queue_url(campaign, pair_id if str(pair_id).isdigit() else None))
    return redirect(_queue_url(campaign))


@require_POST
@require(services.can_label)
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        label = services.undo_last(campaign, request.user)
    except services.ReviewError as exc:
        messages.error(request, str(exc))
        return redirect(_queue_url(campaign))
    if label is None:
        messages.info(request, _("There is nothing to undo."))
        return redirect(_queue_url(campaign))
    messages.info(
        request,
        _("Undone: pair %(position)d is back for you to change.")
        % {"position": label.pair.position},
    )
    return redirect(_queue_url(campaign, label.pair_id))


@require_POST
@require(services.can_adjudicate)
def campaign_status(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    wanted = request.POST.get("status")
    if wanted not in Campaign.Status.values:
        messages.error(request, _("Unknown status."))
    else:
        campaign.status = wanted
        campaign.save(update_fields=["status"])
        messages.success(
            request,
            _("The campaign %(name)s is now %(status)s.")
            % {"name": campaign.name, "status": campaign.get_status_display()},
        )
    return redirect("review-agreement", campaign.pk)


@require_GET
@require(services.can_adjudicate)
def adjudication(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    conflicts = list(services.conflicts(campaign).select_related("adjudication__decided_by"))
    current = None
    if request.GET.get("pair"):
        current = next((p for p in conflicts if str(p.pk) == request.GET["pair"]), None)
    if current is None:
        current = next((p for p in conflicts if not p.decided), None)
    ctx = {
        "campaign": campaign,
        "conflicts": conflicts,
        "open_count": sum(1 for p in conflicts if not p.decided),
        "labels": LabelValue.choices,
        "label_keys": list(zip(LabelValue.values, "123", strict=True)),
        "grades": range(MAX_GRADE + 1),
    }
    if current is not None:
        ctx.update(_pair_context(campaign, current))
        ctx["current_labels"] = (
            current.labels.filter(status=Label.Status.SUBMITTED)
            .select_related("reviewer")
            .order_by("reviewer__username")
        )
        ctx["decision"] = getattr(current, "adjudication", None)
    return render(request, "review/adjudicate.html", ctx)


@require_POST
@require(services.can_adjudicate)
def adjudicate_submit(request: HttpRequest, pk: int, pair_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    url = reverse("review-adjudicate", args=[campaign.pk])
    try:
        pair = services.pair_in_campaign(campaign, pair_id)
        outcome = services.adjudicate(
            campaign,
            pair,
            request.user,
            label=request.POST.get("label"),
            grade=request.POST.get("grade"),
            note=request.POST.get("note", ""),
        )
    except services.ReviewError as exc:
        messages.error(request, str(exc))
        return redirect(f"{url}?pair={pair_id}")
    if outcome.sync == "deleted":
        messages.warning(request, services.deleted_message(pair))
    else:
        messages.success(
            request,
            _("Decided: %(label)s.") % {"label": outcome.adjudication.get_label_display()},
        )
    return redirect(url)


def _config_summary(config: dict) -> dict:
    """The campaign's search configuration with its space in words (label, not code name)."""
    summary = dict(config)
    if config.get("space"):
        space = EmbeddingSpace.objects.filter(name=config["space"]).first()
        summary["space_label"] = space.label if space and space.label else ""
    return summary


def _evaluation_url() -> str | None:
    for name in ("evaluation:dashboard", "evaluation-dashboard", "evaluation:index"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


@require_GET
@require(services.can_adjudicate)
def agreement(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    report = services.agreement_report(campaign)
    pairs = campaign.pairs.annotate(
        submitted=Count("labels", filter=Q(labels__status=Label.Status.SUBMITTED))
    )
    applied = campaign.pairs.exclude(applied_label="").order_by("position")
    ctx = {
        "campaign": campaign,
        "report": report,
        "total": pairs.count(),
        "complete": pairs.filter(submitted__gte=campaign.reviewers_per_pair).count(),
        "conflicts": services.conflicts(campaign).filter(decided=False).count(),
        "applied": applied,
        "applied_counts": {
            "positive": applied.filter(applied_label__in=services.POSITIVE).count(),
            "negative": applied.filter(applied_label=LabelValue.NOT_SIMILAR).count(),
        },
        "evaluation_url": _evaluation_url(),
        "strata": [
            {**row, "label": stratum_label(row["stratum"])}
            for row in campaign.pairs.values("stratum").annotate(n=Count("pk")).order_by("stratum")
        ],
        "config": _config_summary(campaign.search_config),
        "config_code": json.dumps(campaign.search_config, ensure_ascii=False),
    }
    return render(request, "review/agreement.html", ctx)


@require_GET
@require(services.can_adjudicate)
def export(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    fmt = request.GET.get("format", "jsonl")
    slug = f"review-{campaign.pk}"
    if fmt == "json":
        body = json.dumps(sampling.export_samples(campaign), ensure_ascii=False, indent=1)
        content_type, ext = "application/json", "json"
    elif fmt in ("jsonl", "csv"):
        body = services.export_labels(campaign, fmt)
        content_type = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
        ext = fmt
    else:
        messages.error(request, _("Export as jsonl, csv or json."))
        return redirect("review-agreement", campaign.pk)
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-labels.{ext}"'
    return response
