"""The duplicate review pages: the report of groups, one group at a time side by side, the
decisions on its pairs, and starting a scan.

Reviewers and admins use these pages; teachers get a 403 (they see probable duplicates while
authoring). Admins start scans and change or undo decisions; "duplicate" retires an item, so it
is an admin's decision too (`services.can_decide`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from itembank import jobs
from itembank.models import Item, ItemImage
from itembank.permissions import can_administer, require

from . import services
from .forms import GroupFilterForm
from .models import DuplicateCandidate, DuplicateGroup, DuplicateScan, PairDecision

PAGE_SIZE = 20


def _filters(request: HttpRequest) -> GroupFilterForm:
    form = GroupFilterForm(request.GET)
    if not form.is_valid():
        # Unknown values fall back to the defaults rather than failing the page.
        form = GroupFilterForm({})
        form.is_valid()
    return form


def _with_query(url: str, query: dict) -> str:
    return f"{url}?{urlencode(query)}" if query else url


def _group_url(group_id: int, query: dict, pair: int | None = None) -> str:
    params = dict(query)
    if pair is not None:
        params["pair"] = pair
    return _with_query(reverse("duplicate-group", args=[group_id]), params)


@require_GET
@require(services.can_view_duplicates)
def report(request: HttpRequest) -> HttpResponse:
    form = GroupFilterForm(request.GET)
    bad_filters = not form.is_valid()
    if bad_filters:
        form = _filters(request)
    scan = services.latest_scan()
    groups = form.groups(scan)
    paginator = Paginator(groups, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    members = {
        item.pk: item
        for item in Item.objects.filter(
            pk__in=[pk for group in page.object_list for pk in group.item_ids[:4]]
        )
    }
    for group in page.object_list:
        group.preview = [members[pk] for pk in group.item_ids[:4] if pk in members]
    ctx = {
        "form": form,
        "bad_filters": bad_filters,
        "scan": scan,
        "active": services.active_scan(),
        "page": page,
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "query": form.query(),
        "recent_scans": DuplicateScan.objects.filter(
            status__in=[DuplicateScan.Status.SUCCEEDED, DuplicateScan.Status.FAILED]
        ).select_related("space", "created_by")[:5],
    }
    return render(request, "duplicates/report.html", ctx)


@require_POST
@require(can_administer)
def scan_start(request: HttpRequest) -> HttpResponse:
    scan, created = services.start_scan(request.user)
    if not created:
        messages.info(request, _("A scan is already running; its progress is shown below."))
    elif scan.waiting_for_queue:
        messages.warning(request, jobs.WAITING_FOR_QUEUE)
    else:
        messages.success(request, _("The scan has started; its progress is shown below."))
    return redirect("duplicate-report")


@require_GET
@require(services.can_view_duplicates)
def scan_status(request: HttpRequest, pk: int) -> HttpResponse:
    scan = get_object_or_404(DuplicateScan.objects.select_related("space", "created_by"), pk=pk)
    return render(request, "duplicates/_scan.html", {"scan": scan})


def _visible_group(pk: int) -> DuplicateGroup:
    group = get_object_or_404(DuplicateGroup.objects.select_related("scan__space"), pk=pk)
    if group.scan.status != DuplicateScan.Status.SUCCEEDED:
        raise Http404
    return group


def _group_context(request: HttpRequest, group: DuplicateGroup, form: GroupFilterForm) -> dict:
    query = form.query()
    ordered = list(form.groups(group.scan).values_list("id", flat=True))
    position = ordered.index(group.pk) if group.pk in ordered else None
    if position is not None:
        previous_id = ordered[position - 1] if position > 0 else None
        next_id = ordered[position + 1] if position + 1 < len(ordered) else None
    else:
        previous_id = None
        next_id = ordered[0] if ordered else None
    items = {
        item.pk: item
        for item in Item.objects.filter(pk__in=group.item_ids)
        .select_related("author")
        .annotate(revision_count=Count("revisions"))
        .prefetch_related(Prefetch("images", queryset=ItemImage.objects.order_by("position", "id")))
    }
    candidates = services.group_candidates(group)
    current = None
    raw_pair = request.GET.get("pair") or request.POST.get("pair")
    if raw_pair and raw_pair.isdigit():
        current = next((c for c in candidates if c.pk == int(raw_pair)), None)
    if current is None:
        current = candidates[0] if candidates else None
    left = right = None
    if current is not None:
        a, b = items.get(current.item_a_id), items.get(current.item_b_id)
        keeper = services.suggested_keeper([x for x in (a, b) if x is not None])
        left, right = (a, b) if keeper is None or keeper.pk == a.pk else (b, a)
    keeper = services.suggested_keeper(items.values())
    return {
        "group": group,
        "scan": group.scan,
        "form": form,
        "query": query,
        "items": [items[pk] for pk in group.item_ids if pk in items],
        "keeper": keeper,
        "candidates": candidates,
        "current": current,
        "left": left,
        "right": right,
        "position": position + 1 if position is not None else None,
        "count": len(ordered),
        "previous_url": _group_url(previous_id, query) if previous_id else None,
        "next_url": _group_url(next_id, query) if next_id else None,
        "report_url": _with_query(reverse("duplicate-report"), query),
        "may_duplicate": services.can_decide(request.user, PairDecision.Kind.DUPLICATE),
        "may_change": services.can_change_decisions(request.user),
        "open_count": sum(1 for c in candidates if c.is_open),
    }


@require_GET
@require(services.can_view_duplicates)
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    group = _visible_group(pk)
    ctx = _group_context(request, group, _filters(request))
    return render(request, "duplicates/group.html", ctx)


def _after_decision(request: HttpRequest, group: DuplicateGroup, form: GroupFilterForm) -> str:
    """Where to go next: the group's next open pair, else the next group with open pairs."""
    query = form.query()
    for candidate in services.group_candidates(group):
        if candidate.is_open:
            return _group_url(group.pk, query, candidate.pk)
    ordered = list(form.groups(group.scan).values_list("id", flat=True))
    following = [pk for pk in ordered if pk != group.pk]
    if not following:
        messages.success(request, _("Every group of this scan has been reviewed."))
        return _with_query(reverse("duplicate-report"), query)
    return _group_url(following[0], query)


def _parse_action(value: str, candidate: DuplicateCandidate) -> tuple[str, int | None]:
    kind, _sep, keeper = value.partition(":")
    if kind == PairDecision.Kind.DUPLICATE:
        if not keeper.isdigit():
            raise services.DecisionError(_("Say which of the two items to keep."))
        return kind, int(keeper)
    return kind, None


@require_POST
@require(services.can_view_duplicates)
def group_decide(request: HttpRequest, pk: int) -> HttpResponse:
    group = _visible_group(pk)
    form = _filters(request)
    raw = request.POST.get("pair", "")
    candidate = group.candidates.filter(pk=int(raw)).first() if raw.isdigit() else None
    error = None
    if candidate is None:
        error = _("Choose a pair of this group.")
    else:
        try:
            kind, keeper = _parse_action(request.POST.get("action", ""), candidate)
            existing = services.decision_for(candidate.item_a_id, candidate.item_b_id)
            if not services.can_decide(request.user, kind):
                error = _("Only administrators can mark duplicates, because that retires an item.")
            elif existing is not None and not services.can_change_decisions(request.user):
                error = _("This pair has a decision already; only administrators can change it.")
            else:
                services.record_decision(
                    candidate.item_a_id,
                    candidate.item_b_id,
                    kind,
                    user=request.user,
                    keeper=keeper,
                    note=request.POST.get("note", ""),
                )
        except services.DecisionError as exc:
            error = str(exc)
    if error is not None:
        ctx = _group_context(request, group, form)
        ctx["error"] = error
        return render(request, "duplicates/group.html", ctx, status=400)
    messages.success(request, _("Decision saved."))
    return redirect(_after_decision(request, group, form))


@require_http_methods(["GET", "POST"])
@require(services.can_view_duplicates)
def group_not_duplicates(request: HttpRequest, pk: int) -> HttpResponse:
    """Bulk action behind a confirmation: every open pair of the group is "not a duplicate"."""
    group = _visible_group(pk)
    form = _filters(request)
    open_pairs = [c for c in services.group_candidates(group) if c.is_open]
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            with transaction.atomic():  # all pairs or none
                for candidate in open_pairs:
                    services.record_decision(
                        candidate.item_a_id,
                        candidate.item_b_id,
                        PairDecision.Kind.NOT_DUPLICATE,
                        user=request.user,
                        note=request.POST.get("note", ""),
                    )
        except services.DecisionError as exc:
            messages.error(request, str(exc))
            return redirect(_group_url(group.pk, form.query()))
        count = len(open_pairs)
        messages.success(
            request,
            ngettext(
                "%(count)d pair marked as not a duplicate.",
                "%(count)d pairs marked as not duplicates.",
                count,
            )
            % {"count": count},
        )
        return redirect(_after_decision(request, group, form))
    ctx = {
        "group": group,
        "pairs": open_pairs,
        "query": form.query(),
        "back_url": _group_url(group.pk, form.query()),
    }
    return render(request, "duplicates/confirm_not_duplicates.html", ctx)


@require_POST
@require(services.can_change_decisions)
def decision_undo(request: HttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(PairDecision, pk=pk)
    services.undo_decision(decision, user=request.user)
    messages.success(request, _("Decision undone; the pair can be proposed again."))
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("duplicate-report")
