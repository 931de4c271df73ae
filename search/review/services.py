"""Expert review as plain functions: each reviewer's queue, submitting, skipping and undoing
labels, adjudicating conflicts, agreement figures, label export, and feeding final verdicts into
the expert ground truth.

Queue. A pair needs `campaign.reviewers_per_pair` (N) submitted labels from different reviewers.
A reviewer is offered pairs they have not finished (submitted or skipped) whose N slots are not
all taken; opening a pair claims a slot with a draft label for `CLAIM_MINUTES`, so two reviewers
working at once are offered different pairs. Reviewers never see each other's labels, and see the
model's similarity or the ground-truth label only where the campaign shows them.

Concurrency. Every write locks the pair row (`select_for_update`) inside a transaction and
goes through `get_or_create` on the (pair, reviewer) unique constraint, so a double submit
updates the one label and two reviewers submitting at once each get their own row.

Feed-back. A pair's final verdict is its adjudication, or else the label all its submitted labels
agree on once there are N of them. `sync_pair` writes the verdict into the expert ground-truth
set (duplicate/similar → relevant with the grade, duplicate 3 and similar 1 where no grade was
given, at least 1; not similar → not relevant) and records "not a duplicate" with the duplicate
review so later scans leave the pair alone. When a verdict goes away (a label is undone) or
changes, what was written is taken back first, restoring the relevance the pair had before.
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from itertools import combinations

from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from itembank import csvsafe
from itembank.models import User
from itembank.permissions import can_administer, can_review
from itembank.text import has_nul, nul_message
from search.duplicates import services as duplicates
from search.evaluation import groundtruth
from search.evaluation.models import GroundTruthPair

from . import agreement
from .models import MAX_GRADE, Adjudication, Campaign, Label, LabelValue, ReviewPair

logger = logging.getLogger(__name__)

CLAIM_MINUTES = 15
MAX_SECONDS = 30 * 60  # time on one pair is counted up to this
DEFAULT_RELEVANCE = {LabelValue.DUPLICATE: 3, LabelValue.SIMILAR: 1}
EXPERT_NOTE = "expert review"
MAX_NOTE = 2000
POSITIVE = (LabelValue.DUPLICATE, LabelValue.SIMILAR)


class ReviewError(Exception):
    """A label or decision that cannot be stored; the message is shown to the user as is."""


def can_label(user) -> bool:
    return can_review(user)


def can_adjudicate(user) -> bool:
    return can_administer(user)


# -- validation ---------------------------------------------------------------------------------


def clean_label(value) -> str:
    if value not in LabelValue.values:
        raise ReviewError(
            _("Pick a label: %(labels)s.")
            % {"labels": ", ".join(str(label) for label in LabelValue.labels)}
        )
    return value


def clean_grade(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRADE:
        raise ReviewError(
            _("The grade must be a whole number from 0 to %(max)d.") % {"max": MAX_GRADE}
        )
    return value


def clean_note(value) -> str:
    value = "" if value is None else value
    if not isinstance(value, str):
        raise ReviewError(_("The note must be text."))
    value = value.strip()
    if len(value) > MAX_NOTE:
        raise ReviewError(_("Keep the note under 2,000 characters."))
    if has_nul(value):
        raise ReviewError(nul_message())
    return value


def pair_in_campaign(campaign: Campaign, pair_id) -> ReviewPair:
    try:
        pk = int(pair_id)
    except (TypeError, ValueError):
        raise ReviewError(_("Say which pair you are labelling.")) from None
    pair = ReviewPair.objects.filter(pk=pk).first()
    if pair is None:
        raise ReviewError(_("There is no pair %(id)s.") % {"id": pk})
    if pair.campaign_id != campaign.pk:
        raise ReviewError(
            _("Pair %(id)s is not part of the campaign %(name)s.")
            % {"id": pk, "name": campaign.name}
        )
    return pair


# -- the queue ----------------------------------------------------------------------------------


def _claim_cutoff():
    return timezone.now() - timedelta(minutes=CLAIM_MINUTES)


def taken_slots(user) -> Count:
    """Labels of other reviewers that fill a slot: submitted, or a draft opened recently."""
    return Count(
        "labels",
        filter=~Q(labels__reviewer=user)
        & (
            Q(labels__status=Label.Status.SUBMITTED)
            | Q(labels__status=Label.Status.DRAFT, labels__updated_at__gte=_claim_cutoff())
        ),
        distinct=True,
    )


def available_pairs(campaign: Campaign, user) -> QuerySet[ReviewPair]:
    """The pairs `user` may still label, in the order they are offered: the user's own drafts
    first (the most recently touched first, so an undone pair comes back at once), then by
    position."""
    mine = Label.objects.filter(pair=OuterRef("pk"), reviewer=user)
    finished = mine.filter(status__in=[Label.Status.SUBMITTED, Label.Status.SKIPPED])
    draft = mine.filter(status=Label.Status.DRAFT)
    return (
        campaign.pairs.filter(query__isnull=False, candidate__isnull=False)
        .annotate(finished=Exists(finished), mine=Exists(draft), taken=taken_slots(user))
        .filter(finished=False)
        .filter(Q(mine=True) | Q(taken__lt=campaign.reviewers_per_pair))
    )


def _ordered(qs: QuerySet[ReviewPair], user) -> QuerySet[ReviewPair]:
    return qs.annotate(touched=Max("labels__updated_at", filter=Q(labels__reviewer=user))).order_by(
        "-mine", "-touched", "position"
    )


def open_pair(campaign: Campaign, user, pair: ReviewPair | None = None) -> Label | None:
    """Claim the next pair for `user` (or `pair`, when it is still theirs to label) and return
    the user's draft label on it; None when nothing is left."""
    if not campaign.is_open:
        return None
    with transaction.atomic():
        if pair is not None:
            candidates = [pair.pk]
        else:
            candidates = list(
                _ordered(available_pairs(campaign, user), user)[:20].values_list("pk", flat=True)
            )
        for pk in candidates:
            locked = ReviewPair.objects.select_for_update().get(pk=pk)
            if not available_pairs(campaign, user).filter(pk=locked.pk).exists():
                continue  # taken meanwhile
            label, created = Label.objects.get_or_create(
                pair=locked, reviewer=user, defaults={"opened_at": timezone.now()}
            )
            if not created:
                label.opened_at = label.opened_at or timezone.now()
                label.save(update_fields=["opened_at", "updated_at"])
            return label
    return None


@dataclass
class Progress:
    total: int
    complete: int
    submitted: int
    skipped: int
    draft: int
    remaining: int

    @property
    def done(self) -> int:
        return self.submitted + self.skipped

    @property
    def percent(self) -> int:
        reachable = self.done + self.remaining
        return round(100 * self.done / reachable) if reachable else 100


def progress(campaign: Campaign, user) -> Progress:
    """The campaign's completion (pairs with N submitted labels) and the user's own counts;
    `remaining` is how many pairs the user may still be offered."""
    counts = Counter(
        Label.objects.filter(pair__campaign=campaign, reviewer=user).values_list(
            "status", flat=True
        )
    )
    complete = (
        campaign.pairs.annotate(n=Count("labels", filter=Q(labels__status=Label.Status.SUBMITTED)))
        .filter(n__gte=campaign.reviewers_per_pair)
        .count()
    )
    return Progress(
        total=campaign.pairs.count(),
        complete=complete,
        submitted=counts[Label.Status.SUBMITTED],
        skipped=counts[Label.Status.SKIPPED],
        draft=counts[Label.Status.DRAFT],
        remaining=available_pairs(campaign, user).count() if campaign.is_open else 0,
    )


# -- labelling ----------------------------------------------------------------------------------


def _check_open(campaign: Campaign) -> None:
    if not campaign.is_open:
        raise ReviewError(_("The campaign %(name)s is closed.") % {"name": campaign.name})


def _elapsed(label: Label) -> int:
    if label.opened_at is None:
        return 0
    seconds = int((timezone.now() - label.opened_at).total_seconds())
    return max(0, min(seconds, MAX_SECONDS))


def _lock_label(pair: ReviewPair, user, *, claim: bool = False) -> tuple[ReviewPair, Label]:
    pair = ReviewPair.objects.select_for_update().select_related("campaign").get(pk=pair.pk)
    if claim:
        _check_slot(pair, user)
    label, _created = Label.objects.get_or_create(pair=pair, reviewer=user)
    label = Label.objects.select_for_update().get(pk=label.pk)
    return pair, label


def _check_slot(pair: ReviewPair, user) -> None:
    """Refuse a label on a pair whose `reviewers_per_pair` slots other reviewers fill (submitted
    or claimed, `taken_slots`) unless `user` holds one already (a draft or a submitted label):
    the queue never offers such a pair, and a direct POST must not get past that either. Runs
    with the pair locked."""
    holds = pair.labels.filter(
        reviewer=user, status__in=[Label.Status.DRAFT, Label.Status.SUBMITTED]
    ).exists()
    if holds:
        return
    taken = ReviewPair.objects.filter(pk=pair.pk).annotate(taken=taken_slots(user)).get().taken
    if taken >= pair.campaign.reviewers_per_pair:
        raise ReviewError(
            _("Other reviewers already hold every slot of this pair; take the next one.")
        )


def submit(campaign: Campaign, pair: ReviewPair, user, *, label, grade=None, note="") -> Label:
    """Store `user`'s label on `pair` as submitted. Submitting the same pair again updates the
    same label (a double submit is harmless)."""
    if pair.campaign_id != campaign.pk:
        raise ReviewError(
            _("Pair %(id)s is not part of the campaign %(name)s.")
            % {"id": pair.pk, "name": campaign.name}
        )
    value = clean_label(label)
    grade = clean_grade(grade)
    note = clean_note(note)
    _check_open(campaign)
    with transaction.atomic():
        pair, row = _lock_label(pair, user, claim=True)
        if not pair.items_exist:
            raise ReviewError(_("An item of this pair has been deleted; skip it."))
        if row.status != Label.Status.SUBMITTED:
            row.seconds_spent += _elapsed(row)
            row.finished_at = timezone.now()
        row.label, row.grade, row.note = value, grade, note
        row.status = Label.Status.SUBMITTED
        row.opened_at = None
        row.save()
        sync_pair(pair, user=user)
    return row


def skip(campaign: Campaign, pair: ReviewPair, user) -> Label:
    if pair.campaign_id != campaign.pk:
        raise ReviewError(
            _("Pair %(id)s is not part of the campaign %(name)s.")
            % {"id": pair.pk, "name": campaign.name}
        )
    _check_open(campaign)
    with transaction.atomic():
        pair, row = _lock_label(pair, user)
        if row.status == Label.Status.SKIPPED:
            return row
        was_submitted = row.status == Label.Status.SUBMITTED
        row.seconds_spent += _elapsed(row)
        row.status = Label.Status.SKIPPED
        row.finished_at = timezone.now()
        row.opened_at = None
        row.save()
        if was_submitted:
            sync_pair(pair, user=user)
    return row


def undo_last(campaign: Campaign, user) -> Label | None:
    """Put the user's most recently finished label in this campaign back to draft, its label
    kept for editing; None when there is nothing to undo."""
    _check_open(campaign)
    with transaction.atomic():
        last = (
            Label.objects.filter(
                pair__campaign=campaign,
                reviewer=user,
                status__in=[Label.Status.SUBMITTED, Label.Status.SKIPPED],
            )
            .order_by("-finished_at", "-pk")
            .first()
        )
        if last is None:
            return None
        pair = ReviewPair.objects.select_for_update().get(pk=last.pair_id)
        row = Label.objects.select_for_update().get(pk=last.pk)
        was_submitted = row.status == Label.Status.SUBMITTED
        row.status = Label.Status.DRAFT
        row.finished_at = None
        row.opened_at = timezone.now()
        row.save()
        if was_submitted:
            sync_pair(pair, user=user)
    return row


def my_labels(campaign: Campaign, user) -> QuerySet[Label]:
    return (
        Label.objects.filter(pair__campaign=campaign, reviewer=user)
        .select_related("pair")
        .order_by("pair__position")
    )


# -- verdicts and the expert ground truth -------------------------------------------------------


def relevance_for(label: str, grade: int | None) -> int | None:
    if label not in POSITIVE:
        return None
    return max(1, grade if grade is not None else DEFAULT_RELEVANCE[label])


def consensus(pair: ReviewPair) -> tuple[str, int | None] | None:
    """The label all submitted labels agree on once there are N of them, with the median of the
    grades given (rounded down), else None."""
    rows = list(pair.labels.filter(status=Label.Status.SUBMITTED).values_list("label", "grade"))
    if len(rows) < pair.campaign.reviewers_per_pair:
        return None
    values = {label for label, _grade in rows}
    if len(values) != 1:
        return None
    grades = sorted(grade for _label, grade in rows if grade is not None)
    grade = grades[(len(grades) - 1) // 2] if grades else None
    return values.pop(), grade


def verdict(pair: ReviewPair) -> tuple[str, int | None] | None:
    adjudication = Adjudication.objects.filter(pair=pair).first()
    if adjudication is not None:
        return adjudication.label, adjudication.grade
    return consensus(pair)


def _record_not_duplicate(pair: ReviewPair, user) -> bool:
    if duplicates.decision_for(pair.query_id, pair.candidate_id) is not None:
        return False  # an earlier verdict (maybe a retired duplicate) stands
    try:
        duplicates.record_decision(
            pair.query_id, pair.candidate_id, "not_duplicate", user=user, note=EXPERT_NOTE
        )
    except duplicates.DecisionError as exc:
        logger.warning("could not record not-duplicate for %s: %s", pair, exc)
        return False
    return True


def _forget_not_duplicate(pair: ReviewPair, user) -> None:
    decision = duplicates.decision_for(pair.query_id, pair.candidate_id)
    if decision is not None and decision.kind == "not_duplicate" and decision.note == EXPERT_NOTE:
        duplicates.undo_decision(decision, user=user)


def _revoke(pair: ReviewPair, user) -> None:
    expert = groundtruth.expert_set()
    groundtruth.set_pair(expert, pair.query_id, pair.candidate_id, pair.previous_relevance)
    if pair.recorded_not_duplicate:
        _forget_not_duplicate(pair, user)
    pair.applied_label = ""
    pair.applied_relevance = None
    pair.previous_relevance = None
    pair.recorded_not_duplicate = False


def sync_pair(pair: ReviewPair, *, user=None) -> str:
    """Bring the expert ground truth in line with the pair's verdict. Returns "applied",
    "revoked", "unchanged", or "deleted" when an item of the pair no longer exists (nothing
    can be written; the labels and any adjudication are kept)."""
    wanted = verdict(pair)
    if wanted is None and not pair.applied_label:
        return "unchanged"
    if not pair.items_exist:
        return "deleted"
    if wanted is not None:
        label, grade = wanted
        relevance = relevance_for(label, grade)
        if pair.applied_label == label and pair.applied_relevance == relevance:
            return "unchanged"
    if pair.applied_label:
        _revoke(pair, user)
    if wanted is None:
        pair.save()
        return "revoked"
    expert = groundtruth.expert_set()
    pair.previous_relevance = (
        GroundTruthPair.objects.filter(
            gt_set=expert, query=pair.query_id, relevant=pair.candidate_id
        )
        .values_list("relevance", flat=True)
        .first()
    )
    groundtruth.set_pair(expert, pair.query_id, pair.candidate_id, relevance)
    pair.applied_label = label
    pair.applied_relevance = relevance
    if label == LabelValue.NOT_SIMILAR:
        pair.recorded_not_duplicate = _record_not_duplicate(pair, user)
    pair.save()
    return "applied"


def expert_labels() -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Every final expert verdict as (query item id, candidate item id): the pairs judged
    similar or duplicate, and the pairs judged not similar. Where campaigns disagree about the
    same pair, the one whose verdict was written last wins."""
    latest: dict[tuple[int, int], str] = {}
    rows = (
        ReviewPair.objects.exclude(applied_label="")
        .filter(query__isnull=False, candidate__isnull=False)
        .order_by("pk")
        .values_list("query_id", "candidate_id", "applied_label")
    )
    for query_id, candidate_id, label in rows:
        latest[(query_id, candidate_id)] = label
    positive = {key for key, label in latest.items() if label in POSITIVE}
    negative = {key for key, label in latest.items() if label == LabelValue.NOT_SIMILAR}
    return positive, negative


# -- adjudication -------------------------------------------------------------------------------


def conflicts(campaign: Campaign) -> QuerySet[ReviewPair]:
    """Pairs whose submitted labels disagree, those not yet adjudicated first."""
    return (
        campaign.pairs.annotate(
            kinds=Count(
                "labels__label", filter=Q(labels__status=Label.Status.SUBMITTED), distinct=True
            ),
            decided=Exists(Adjudication.objects.filter(pair=OuterRef("pk"))),
        )
        .filter(kinds__gt=1)
        .order_by("decided", "position")
    )


@dataclass
class Outcome:
    adjudication: Adjudication
    sync: str


def adjudicate(
    campaign: Campaign, pair: ReviewPair, user, *, label, grade=None, note=""
) -> Outcome:
    if pair.campaign_id != campaign.pk:
        raise ReviewError(
            _("Pair %(id)s is not part of the campaign %(name)s.")
            % {"id": pair.pk, "name": campaign.name}
        )
    value = clean_label(label)
    grade = clean_grade(grade)
    note = clean_note(note)
    with transaction.atomic():
        pair = ReviewPair.objects.select_for_update().select_related("campaign").get(pk=pair.pk)
        adjudication, _created = Adjudication.objects.update_or_create(
            pair=pair,
            defaults={"label": value, "grade": grade, "note": note, "decided_by": user},
        )
        result = sync_pair(pair, user=user)
    return Outcome(adjudication, result)


def deleted_message(pair: ReviewPair) -> str:
    gone = []
    if pair.query_id is None:
        gone.append(pair.query_external_id)
    if pair.candidate_id is None:
        gone.append(pair.candidate_external_id)
    return _(
        "Your decision is saved, but %(ids)s has been deleted from the bank since, so the "
        "expert ground truth was not changed."
    ) % {"ids": ", ".join(gone)}


# -- agreement ----------------------------------------------------------------------------------


def _units(campaign: Campaign, binary: bool = False) -> dict[int, dict[int, str]]:
    units: dict[int, dict[int, str]] = defaultdict(dict)
    rows = Label.objects.filter(pair__campaign=campaign, status=Label.Status.SUBMITTED)
    for pair_id, reviewer_id, label in rows.values_list("pair_id", "reviewer_id", "label"):
        if binary:
            label = "relevant" if label in POSITIVE else "not_relevant"
        units[pair_id][reviewer_id] = label
    return units


def agreement_report(campaign: Campaign) -> dict:
    """Agreement over the submitted labels: Cohen's κ per pair of reviewers (on the pairs both
    labelled), Fleiss' κ over the pairs with the most common number of raters (≥ 2),
    Krippendorff's α over everything (missing labels allowed), on the three labels and on
    relevant (similar or duplicate) against not similar."""
    units = _units(campaign)
    binary_units = _units(campaign, binary=True)
    names = dict(
        User.objects.filter(pk__in={r for u in units.values() for r in u}).values_list(
            "pk", "username"
        )
    )
    reviewer_pairs = []
    for a, b in combinations(sorted(names, key=lambda pk: names[pk]), 2):
        common = [u for u in units.values() if a in u and b in u]
        common_binary = [u for u in binary_units.values() if a in u and b in u]
        reviewer_pairs.append(
            {
                "a": names[a],
                "b": names[b],
                "n": len(common),
                "kappa": agreement.cohen_kappa([u[a] for u in common], [u[b] for u in common]),
                "kappa_binary": agreement.cohen_kappa(
                    [u[a] for u in common_binary], [u[b] for u in common_binary]
                ),
                "agreement": agreement.percent_agreement([[u[a], u[b]] for u in common]),
            }
        )
    sizes = Counter(len(u) for u in units.values() if len(u) >= 2)
    raters = max(sizes, key=lambda m: (sizes[m], m)) if sizes else None
    fleiss_units = [list(u.values()) for u in units.values() if len(u) == raters]
    fleiss_binary = [list(u.values()) for u in binary_units.values() if len(u) == raters]
    values = [list(u.values()) for u in units.values()]
    binary_values = [list(u.values()) for u in binary_units.values()]
    return {
        "labelled_pairs": len(units),
        "multiply_labelled": sum(1 for u in units.values() if len(u) >= 2),
        "reviewers": len(names),
        "percent_agreement": agreement.percent_agreement(values),
        "fleiss": {
            "raters": raters,
            "n": len(fleiss_units),
            "kappa": agreement.fleiss_kappa(fleiss_units) if fleiss_units else None,
            "kappa_binary": agreement.fleiss_kappa(fleiss_binary) if fleiss_binary else None,
        },
        "krippendorff": {
            "n": sum(1 for v in values if len(v) >= 2),
            "alpha": agreement.krippendorff_alpha(values),
            "alpha_binary": agreement.krippendorff_alpha(binary_values),
        },
        "cohen": reviewer_pairs,
        "mean_cohen": _mean([p["kappa"] for p in reviewer_pairs]),
    }


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


# -- export -------------------------------------------------------------------------------------

EXPORT_FIELDS = [
    "campaign",
    "position",
    "query",
    "candidate",
    "stratum",
    "similarity",
    "in_ground_truth",
    "reviewer",
    "status",
    "label",
    "grade",
    "note",
    "seconds_spent",
    "created_at",
    "submitted_at",
    "updated_at",
]


def label_rows(campaign: Campaign) -> list[dict]:
    rows = []
    labels = (
        Label.objects.filter(pair__campaign=campaign)
        .exclude(status=Label.Status.DRAFT)
        .select_related("pair", "reviewer")
        .order_by("pair__position", "finished_at", "pk")
    )
    for label in labels:
        rows.append(
            {
                "campaign": campaign.name,
                "position": label.pair.position,
                "query": label.pair.query_external_id,
                "candidate": label.pair.candidate_external_id,
                "stratum": label.pair.stratum,
                "similarity": label.pair.similarity,
                "in_ground_truth": label.pair.in_ground_truth,
                "reviewer": label.reviewer.username,
                "status": label.status,
                "label": label.label,
                "grade": label.grade,
                "note": label.note,
                "seconds_spent": label.seconds_spent,
                "created_at": label.created_at.isoformat(),
                "submitted_at": label.finished_at.isoformat() if label.finished_at else None,
                "updated_at": label.updated_at.isoformat(),
            }
        )
    return rows


def export_labels(campaign: Campaign, fmt: str) -> str:
    rows = label_rows(campaign)
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csvsafe.DictWriter(buf, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        return buf.getvalue()
    raise ReviewError(_("Export as jsonl, csv or json."))
