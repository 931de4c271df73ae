"""Duplicate review as plain functions: recording and undoing verdicts on pairs, the thresholds
a scan uses, starting a scan, and the groups a reviewer still has to look at.

`record_decision` is the one way a verdict is stored — the review pages, the API and the
authoring UI (a teacher who saves a probable duplicate anyway) all call it. Every later scan
leaves decided pairs out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from embeddings.models import EmbeddingSpace
from embeddings.services import default_space
from itembank import jobs
from itembank.models import Item, ItemStatus, Subject
from itembank.permissions import can_administer, can_review
from itembank.services import set_status
from itembank.text import has_nul, nul_message
from search.models import SearchSettings

from . import exact
from .models import DuplicateCandidate, DuplicateGroup, DuplicateScan, PairDecision

logger = logging.getLogger(__name__)

VIA = "duplicates"
NEIGHBOURS = 10  # nearest neighbours a scan looks at per item
START_LOCK = 0x6475706573  # pg advisory lock key ("dupes")
Kind = PairDecision.Kind


class DecisionError(Exception):
    """A verdict that cannot be recorded; the message is shown to the user as is."""


# -- thresholds ---------------------------------------------------------------------------------


def threshold_for(subject: str) -> float:
    """The cosine similarity at or above which two items of `subject` are proposed as
    duplicates: the per-subject value admins set in the search settings."""
    return float(SearchSettings.load().duplicate_threshold(subject))


def thresholds() -> dict[str, float]:
    current = SearchSettings.load()
    return {subject: float(current.duplicate_threshold(subject)) for subject in Subject.values}


def default_threshold() -> float:
    return float(SearchSettings.load().duplicate_threshold_default)


def scan_settings(space: EmbeddingSpace | None) -> dict:
    """What a scan uses, snapshotted when it is requested: later changes apply to later scans."""
    return {
        "thresholds": thresholds(),
        "default_threshold": default_threshold(),
        "neighbours": NEIGHBOURS,
        "phash_distance": exact.PHASH_DISTANCE,
        "space": space.name if space is not None else None,
    }


# -- permissions --------------------------------------------------------------------------------


def can_view_duplicates(user) -> bool:
    """Reviewers and admins see the duplicate report; teachers do not (they are warned of
    duplicates while authoring instead)."""
    return can_review(user)


def can_decide(user, kind: str) -> bool:
    """Admins record every verdict; reviewers every verdict except "duplicate", which retires an
    item (only admins retire items anywhere in the bank)."""
    if can_administer(user):
        return True
    return can_review(user) and kind != Kind.DUPLICATE


def can_change_decisions(user) -> bool:
    """Changing or undoing a recorded verdict is for admins."""
    return can_administer(user)


# -- decisions ----------------------------------------------------------------------------------


def _item(value: Item | int, *, lock: bool = False) -> Item:
    if isinstance(value, Item):
        value = value.pk
    qs = Item.objects.select_for_update() if lock else Item.objects
    try:
        return qs.get(pk=value)
    except (Item.DoesNotExist, ValueError, TypeError):
        raise DecisionError(_("Item %(id)s does not exist.") % {"id": value}) from None


def ordered_pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def validate_decision(a: int, b: int, kind: str, keeper: int | None) -> None:
    if a == b:
        raise DecisionError(_("A pair needs two different items."))
    if kind not in Kind.values:
        raise DecisionError(
            _("Unknown decision %(kind)s; use one of: %(kinds)s.")
            % {"kind": kind, "kinds": ", ".join(Kind.values)}
        )
    if kind == Kind.DUPLICATE:
        if keeper is None:
            raise DecisionError(_("Say which of the two items to keep."))
        if keeper not in (a, b):
            raise DecisionError(_("The item to keep must be one of the two items of the pair."))
    elif keeper is not None:
        raise DecisionError(_("Only a duplicate has an item to keep."))


def _restore(decision: PairDecision, user) -> None:
    """Undo what a duplicate verdict did: put the item it retired back as it was."""
    if decision.retired_item_id is None:
        return
    item = Item.objects.select_for_update().filter(pk=decision.retired_item_id).first()
    if item is not None and item.status == ItemStatus.RETIRED:
        set_status([item], decision.retired_from or ItemStatus.ACTIVE, user=user, via=VIA)


@transaction.atomic
def record_decision(
    a: Item | int,
    b: Item | int,
    kind: str,
    *,
    user,
    keeper: Item | int | None = None,
    note: str = "",
) -> PairDecision:
    """Store the verdict on the pair (a, b), replacing an earlier one on the same pair.

    duplicate: `keeper` stays, the other item is retired (`set_status`, via "duplicates");
    variant: the two are linked (`linked_items`); enemy: they must not share a test form
    (`enemy_items`); not_duplicate: the pair is never proposed again. Raises DecisionError with
    a message for the user on bad input, changing nothing. Roles are the caller's to check
    (`can_decide`, `can_change_decisions`).
    """
    a_id = a.pk if isinstance(a, Item) else a
    b_id = b.pk if isinstance(b, Item) else b
    keeper_id = keeper.pk if isinstance(keeper, Item) else keeper
    validate_decision(a_id, b_id, str(kind), keeper_id)
    note = (note or "").strip()
    if len(note) > 2000:
        raise DecisionError(_("Keep the note under 2,000 characters."))
    if has_nul(note):
        raise DecisionError(nul_message())
    first, second = ordered_pair(a_id, b_id)
    items = {i.pk: i for i in Item.objects.select_for_update().filter(pk__in=[first, second])}
    for pk in (first, second):
        if pk not in items:
            raise DecisionError(_("Item %(id)s does not exist.") % {"id": pk})
    decision = PairDecision.objects.select_for_update().filter(item_a=first, item_b=second).first()
    if decision is not None:
        _restore(decision, user)
        for item in items.values():
            item.refresh_from_db(fields=["status"])
    else:
        decision = PairDecision(item_a_id=first, item_b_id=second)
    decision.kind = kind
    decision.keeper_id = keeper_id
    decision.note = note
    decision.decided_by = user if user is not None and user.is_authenticated else None
    decision.decided_at = timezone.now()
    decision.retired_item = None
    decision.retired_from = ""
    if kind == Kind.DUPLICATE:
        kept = items[keeper_id]
        other = items[second if keeper_id == first else first]
        if kept.status == ItemStatus.RETIRED:
            raise DecisionError(
                _("%(id)s is retired; keep the other item or make it active first.")
                % {"id": kept.external_id}
            )
        if other.status != ItemStatus.RETIRED:
            decision.retired_item = other
            decision.retired_from = other.status
            set_status([other], ItemStatus.RETIRED, user=user, via=VIA)
    decision.save()
    return decision


@transaction.atomic
def undo_decision(decision: PairDecision, *, user) -> None:
    """Forget a verdict: a retired duplicate gets its old status back and the pair may be
    proposed again by the next scan."""
    decision = PairDecision.objects.select_for_update().get(pk=decision.pk)
    _restore(decision, user)
    decision.delete()


def decision_for(a: int, b: int) -> PairDecision | None:
    first, second = ordered_pair(a, b)
    return PairDecision.objects.filter(item_a=first, item_b=second).first()


def related_items(item: Item | int, kind: str) -> QuerySet[Item]:
    pk = item.pk if isinstance(item, Item) else item
    return Item.objects.filter(
        Q(pair_decisions_as_a__item_b=pk, pair_decisions_as_a__kind=kind)
        | Q(pair_decisions_as_b__item_a=pk, pair_decisions_as_b__kind=kind)
    ).distinct()


def linked_items(item: Item | int) -> QuerySet[Item]:
    """Items recorded as variants of `item`."""
    return related_items(item, Kind.VARIANT)


def enemy_items(item: Item | int) -> QuerySet[Item]:
    """Items that must not appear on the same test form as `item`."""
    return related_items(item, Kind.ENEMY)


# -- groups -------------------------------------------------------------------------------------


ORDERINGS = {
    "-score": ("-max_score", "id"),
    "score": ("max_score", "id"),
    "subject": ("subject", "-max_score", "id"),
    "-subject": ("-subject", "-max_score", "id"),
    "-date": ("-newest_item_at", "id"),
    "date": ("newest_item_at", "id"),
}
DEFAULT_ORDERING = "-score"


def latest_scan() -> DuplicateScan | None:
    """The newest scan that finished; only such a scan's groups are ever shown."""
    return (
        DuplicateScan.objects.filter(status=DuplicateScan.Status.SUCCEEDED)
        .select_related("space")
        .order_by("-finished_at", "-id")
        .first()
    )


def active_scan() -> DuplicateScan | None:
    """The queued or running scan, if any. (A scan whose worker died is failed by the beat,
    `itembank.jobs.fail_stale`; reading never writes.)"""
    return (
        DuplicateScan.objects.filter(
            status__in=[DuplicateScan.Status.QUEUED, DuplicateScan.Status.RUNNING]
        )
        .select_related("space", "created_by")
        .order_by("-created_at")
        .first()
    )


def decided_pair() -> Exists:
    return Exists(PairDecision.objects.filter(item_a=OuterRef("item_a"), item_b=OuterRef("item_b")))


def open_candidates(qs: QuerySet[DuplicateCandidate]) -> QuerySet[DuplicateCandidate]:
    """Pairs still to review: undecided, and neither item retired since the scan."""
    return (
        qs.exclude(item_a__status=ItemStatus.RETIRED)
        .exclude(item_b__status=ItemStatus.RETIRED)
        .filter(~decided_pair())
    )


def open_groups(
    scan: DuplicateScan | None, *, subject: str = "", ordering: str = DEFAULT_ORDERING
) -> QuerySet[DuplicateGroup]:
    """The scan's groups with at least one pair left to review, in the given order."""
    if scan is None or scan.status != DuplicateScan.Status.SUCCEEDED:
        return DuplicateGroup.objects.none()
    pending = open_candidates(DuplicateCandidate.objects.filter(group=OuterRef("pk")))
    qs = DuplicateGroup.objects.filter(scan=scan).filter(Exists(pending))
    if subject:
        qs = qs.filter(subject=subject)
    return qs.order_by(*ORDERINGS.get(ordering, ORDERINGS[DEFAULT_ORDERING]))


def group_candidates(group: DuplicateGroup) -> list[DuplicateCandidate]:
    """The group's pairs, open ones first (highest score first), each with `.decision`."""
    candidates = list(group.candidates.select_related("item_a", "item_b").order_by("-score", "id"))
    keys = [(c.item_a_id, c.item_b_id) for c in candidates]
    q = Q()
    for a, b in keys:
        q |= Q(item_a=a, item_b=b)
    decisions = {}
    if keys:
        decisions = {
            (d.item_a_id, d.item_b_id): d
            for d in PairDecision.objects.filter(q).select_related("decided_by")
        }
    for c in candidates:
        c.decision = decisions.get((c.item_a_id, c.item_b_id))
        c.is_open = (
            c.decision is None
            and c.item_a.status != ItemStatus.RETIRED
            and c.item_b.status != ItemStatus.RETIRED
        )
    candidates.sort(key=lambda c: (not c.is_open, -(c.score or 0.0), c.pk))
    return candidates


def keeper_key(item: Item, revisions: int) -> tuple:
    return (
        item.status == ItemStatus.ACTIVE,
        item.status != ItemStatus.RETIRED,
        -item.created_at.timestamp(),
        revisions,
        -item.pk,
    )


def suggested_keeper(items: Iterable[Item]) -> Item | None:
    """The item to keep: an active one first, then the older, then the one with more history."""
    items = list(items)
    if not items:
        return None
    counts = dict(
        Item.objects.filter(pk__in=[i.pk for i in items])
        .annotate(n=Count("revisions"))
        .values_list("pk", "n")
    )
    return max(items, key=lambda i: keeper_key(i, counts.get(i.pk, 0)))


# -- scans --------------------------------------------------------------------------------------


def start_scan(user, space=None) -> tuple[DuplicateScan, bool]:
    """Queue a scan of the bank (in `space`, by default the default embedding space). When a
    scan is already queued or running, that one is returned with False. The scan is sent to the
    task queue once this commits; with the queue down it waits, queued, for the beat to send it.
    """
    # A scan whose worker died would block a new one until the beat fails it: fail it now.
    jobs.fail_stale(models_=[DuplicateScan])
    with transaction.atomic():
        # One scan at a time: concurrent requests serialise on this transaction-level lock.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [START_LOCK])
        current = active_scan()
        if current is not None:
            return current, False
        space = space if space is not None else default_space()
        scan = DuplicateScan.objects.create(
            space=space,
            settings=scan_settings(space),
            created_by=user if user is not None and user.is_authenticated else None,
        )
        jobs.enqueue(scan)
    scan.refresh_from_db()
    return scan, True
