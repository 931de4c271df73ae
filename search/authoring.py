"""The duplicate check while authoring: before a new or edited item is saved, find the items it
probably duplicates, so the teacher can open them, cancel, or save anyway and record the relation.

Two kinds of evidence, reported apart:

- Exact duplicates, by hashes that need no model (`search.duplicates.exact`):
  - the same *normalised* text (`normalise_text`; the stem and the set of choices), and
  - the same figure file (SHA-256 of the image bytes).
- Model-based candidates: the draft (text and first figure) is embedded with the default space's
  backend through `search.engine` (dense mode, same subject) and every hit at or above the
  subject's variant threshold is shown, labelled a probable duplicate at or above the duplicate
  threshold (`SearchSettings`, admin-tunable per subject). Their figures are compared by
  perceptual hash too ("near-identical figure").

Pairs already judged in duplicate review (`PairDecision`) are not shown again.

The check is a warning, never a lock: when the model cannot run, the exact checks still do and
the item can be saved.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import imagehash
from django.contrib import messages
from django.core import signing
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, UnidentifiedImageError

from itembank.content import content_hash, item_text
from itembank.models import Item, ItemImage
from itembank.permissions import can_administer, can_edit_items
from search.duplicates import exact
from search.duplicates.models import PairDecision
from search.duplicates.services import (
    DecisionError,
    can_change_decisions,
    can_decide,
    record_decision,
)
from search.engine import SearchError, SearchRequest, search
from search.models import SearchSettings

logger = logging.getLogger(__name__)

# How many nearest items the model-based check looks at.
CANDIDATES_K = 10

# The hidden fields of the item form (templates/itembank/item_form.html).
CHECK_FIELD = "check_duplicates"
CONFIRM_FIELD = "duplicate_confirmed"
CANDIDATES_FIELD = "duplicate_candidates"
RELATION_PREFIX = "relation_"

# What the teacher may record for a candidate when saving anyway: value → (kind, keeper).
RELATIONS = {
    "duplicate": ("duplicate", "existing"),
    "duplicate_keep_new": ("duplicate", "new"),
    "variant": ("variant", None),
    "enemy": ("enemy", None),
    "not_duplicate": ("not_duplicate", None),
}


# Exact matching -------------------------------------------------------------------------------
# The normalisation is duplicate review's (`search.duplicates.exact.normalise`), so the check
# while authoring and the bank-wide scan agree on what an exact duplicate is: NFKC and lower
# case; LaTeX delimiters, spacing macros and `\\left`/`\\right` go; `x^{2}` = `x^2`; whitespace
# and sentence punctuation go; choices compare as a set.

_KEY_DROP = re.compile(r"[^0-9가-힣]")
_KEY_SQL = "regexp_replace(normalize(itembank_item.stem, NFKC), '[^0-9가-힣]', '', 'g')"


def stem_key(stem: str) -> str:
    """The Hangul syllables and digits of the NFKC stem, in order. The normalisation never
    changes or drops those, so texts that normalise equal have equal keys: the SQL pre-filter
    of `exact_text_matches`."""
    return _KEY_DROP.sub("", unicodedata.normalize("NFKC", stem or ""))


# Syllables in nearly every Korean stem (particles, endings): useless to narrow a search.
_COMMON_SYLLABLES = set("의은는이가을를에와과도로으다하시오것수중음한인있서고것기지게면")
_PROBE_SYLLABLES = 6


def probe_syllables(stem: str) -> list[str]:
    """A few distinct Hangul syllables of the stem, uncommon ones first. Every syllable of a
    text survives the normalisation, so an exact duplicate's stem contains each of them: a
    `LIKE '%…%'` per syllable narrows the candidates cheaply before the key is computed."""
    syllables = list(dict.fromkeys(ch for ch in stem_key(stem) if "가" <= ch <= "힣"))
    rare = [ch for ch in syllables if ch not in _COMMON_SYLLABLES]
    common = [ch for ch in syllables if ch in _COMMON_SYLLABLES]
    return (rare + common)[:_PROBE_SYLLABLES]


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers(stem: str, choices: Sequence[str]) -> tuple:
    """The numbers as written (decimal points kept, thousands separators dropped): the stem's in
    order, the choices' as a set. Review's normalisation drops every '.', so `1.5` and `15`
    would otherwise be the same text."""

    def of(text: str) -> tuple[str, ...]:
        text = unicodedata.normalize("NFKC", text or "")
        return tuple(n.replace(",", "") for n in _NUMBER.findall(text))

    return of(stem), tuple(sorted(of(str(c)) for c in choices))


def exact_text_matches(
    stem: str, choices: Sequence[str], *, exclude_id: int | None = None
) -> list[Item]:
    """Items whose normalised text equals the draft's, in any subject."""
    fingerprint = exact.text_key(stem, [str(c) for c in choices])
    written = numbers(stem, choices)
    queryset = Item.objects.all()
    for syllable in probe_syllables(stem):
        queryset = queryset.filter(stem__contains=syllable)
    queryset = queryset.alias(stem_key=RawSQL(_KEY_SQL, ())).filter(stem_key=stem_key(stem))
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return [
        item
        for item in queryset.order_by("pk")
        if exact.text_key(item.stem, [str(c) for c in item.choices or []]) == fingerprint
        and numbers(item.stem, item.choices or []) == written
    ]


def exact_image_matches(
    sha256s: Sequence[str], *, exclude_id: int | None = None
) -> dict[int, Item]:
    """Items holding a figure with one of these SHA-256s, by id."""
    if not sha256s:
        return {}
    queryset = Item.objects.filter(images__sha256__in=list(sha256s)).distinct()
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return {item.pk: item for item in queryset.order_by("pk")}


def image_phash(data: bytes):
    """pHash of image bytes, or None when they cannot be decoded."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return imagehash.phash(img.convert("RGB"))
    except (OSError, ValueError, UnidentifiedImageError):
        return None


# The draft -------------------------------------------------------------------------------------


@dataclass
class Draft:
    """What the teacher is about to save."""

    stem: str
    choices: list[str]
    subject: str
    images: list[bytes] = field(default_factory=list)  # in order
    item_id: int | None = None  # the item being edited

    @property
    def image_sha256s(self) -> list[str]:
        return [hashlib.sha256(data).hexdigest() for data in self.images]

    def content_hash(self) -> str:
        return content_hash(item_text(self.stem, self.choices), self.image_sha256s)


def draft_from_form(form) -> Draft:
    """The draft of a valid `itembank.forms.ItemForm`: kept figures, then the new ones."""
    data = form.cleaned_data
    by_id = {img.pk: img for img in form.existing_images}
    images: list[bytes] = []
    for pk in getattr(form, "kept_image_ids", []):
        img = by_id.get(pk)
        if img is None:
            continue
        try:
            with img.file.open("rb") as handle:
                images.append(handle.read())
        except OSError:
            logger.warning("figure %s of item %s is missing", img.file.name, img.item_id)
    images += [new.image.data for new in data.get("new_images") or []]
    return Draft(
        stem=data.get("stem") or "",
        choices=list(data.get("choices") or []),
        subject=data.get("subject") or "",
        images=images,
        item_id=form.instance.pk,
    )


# The check -------------------------------------------------------------------------------------


@dataclass
class Candidate:
    item: Item
    level: str  # "duplicate" (probable duplicate) or "variant"
    score: float | None = None  # model similarity, when the model found it
    exact_text: bool = False
    exact_image: bool = False
    near_image: bool = False

    @property
    def exact(self) -> bool:
        return self.exact_text or self.exact_image

    @property
    def suggested(self) -> str:
        """The relation offered first: the same text is a duplicate; the same figure with other
        text is likely an enemy pair (one cues the other); else the model's level."""
        if self.exact_text:
            return "duplicate"
        if self.exact_image:
            return "enemy"
        return "duplicate" if self.level == "duplicate" else "variant"

    @property
    def percent(self) -> int | None:
        return None if self.score is None else round(100 * self.score)


@dataclass
class DuplicateCheck:
    exact: list[Candidate] = field(default_factory=list)
    similar: list[Candidate] = field(default_factory=list)
    duplicate_threshold: float | None = None
    variant_threshold: float | None = None
    error: str = ""  # why the model-based part did not run
    took_ms: float = 0.0
    offer: str = ""  # the candidates' ids signed for this user and item (`sign_offer`)

    @property
    def candidates(self) -> list[Candidate]:
        return self.exact + self.similar

    @property
    def has_warnings(self) -> bool:
        return bool(self.exact or self.similar)


def decided_pairs(item_id: int | None, others: Sequence[int]) -> set[int]:
    """Ids among `others` already judged together with `item_id` in duplicate review."""
    if item_id is None or not others:
        return set()
    pairs = PairDecision.objects.filter(
        Q(item_a_id=item_id, item_b_id__in=others) | Q(item_b_id=item_id, item_a_id__in=others)
    ).values_list("item_a_id", "item_b_id")
    return {b if a == item_id else a for a, b in pairs}


def model_candidates(draft: Draft) -> list[tuple[Item, float]]:
    """The default space's nearest items of the same subject: (item, cosine similarity)."""

    request = SearchRequest(
        text=item_text(draft.stem, draft.choices),
        image=draft.images[0] if draft.images else None,
        filters={"subject": draft.subject} if draft.subject else {},
        mode="dense",
        k=CANDIDATES_K,
        rerank=False,
        exclude_ids=(draft.item_id,) if draft.item_id else (),
    )
    return [
        (hit.item, hit.dense if hit.dense is not None else hit.score)
        for hit in search(request).hits
    ]


def check_draft(draft: Draft) -> DuplicateCheck:
    started = time.perf_counter()
    settings = SearchSettings.load()
    check = DuplicateCheck(
        duplicate_threshold=settings.duplicate_threshold(draft.subject),
        variant_threshold=settings.variant_threshold(draft.subject),
    )
    found: dict[int, Candidate] = {}
    for item in exact_text_matches(draft.stem, draft.choices, exclude_id=draft.item_id):
        found[item.pk] = Candidate(item, "duplicate", exact_text=True)
    for pk, item in exact_image_matches(draft.image_sha256s, exclude_id=draft.item_id).items():
        found.setdefault(pk, Candidate(item, "duplicate")).exact_image = True

    similar: dict[int, Candidate] = {}
    try:
        hits = model_candidates(draft)
    except SearchError as exc:
        check.error = str(exc)
        hits = []
    except Exception as exc:  # the check must never stop a teacher from saving
        logger.exception("duplicate check: the similarity search failed")
        check.error = _("The similarity check failed: %(error)s") % {"error": exc}
        hits = []
    for item, score in hits:
        if item.pk in found:
            found[item.pk].score = score
            continue
        if score is None or score < check.variant_threshold:
            continue
        level = "duplicate" if score >= check.duplicate_threshold else "variant"
        similar[item.pk] = Candidate(item, level, score=score)

    _mark_near_images(draft, [*found.values(), *similar.values()])
    decided = decided_pairs(draft.item_id, [*found, *similar])
    check.exact = [c for pk, c in found.items() if pk not in decided]
    check.similar = sorted(
        (c for pk, c in similar.items() if pk not in decided),
        key=lambda c: (-(c.score or 0), c.item.pk),
    )
    check.took_ms = (time.perf_counter() - started) * 1000
    return check


def _mark_near_images(draft: Draft, candidates: list[Candidate]) -> None:
    if not draft.images or not candidates:
        return
    mine = [h for h in (image_phash(data) for data in draft.images) if h is not None]
    if not mine:
        return
    images = ItemImage.objects.filter(item__in=[c.item.pk for c in candidates])
    by_item: dict[int, list[ItemImage]] = {}
    for img in images:
        by_item.setdefault(img.item_id, []).append(img)
    for candidate in candidates:
        for img in by_item.get(candidate.item.pk, []):
            try:
                with img.file.open("rb") as handle:
                    theirs = image_phash(handle.read())
            except OSError:
                continue
            if theirs is not None and any(h - theirs <= exact.PHASH_DISTANCE for h in mine):
                candidate.near_image = True
                break


# The item form's gate --------------------------------------------------------------------------


@dataclass
class Gate:
    """What the create/edit view does about duplicates for one valid POST."""

    check: DuplicateCheck | None = None
    relations: list[tuple[int, str]] = field(default_factory=list)  # (candidate id, relation)

    @property
    def blocked(self) -> bool:
        """Show the warnings instead of saving."""
        return self.check is not None and self.check.has_warnings

    def record(self, request: HttpRequest, item: Item) -> int:
        """Record the relations chosen with "save anyway"; returns how many were recorded.

        Only the candidates the warning offered (signed, `offered_ids`) are related; a relation
        that retires an item is for admins only (only they retire items anywhere in the bank,
        `may_relate`), and so is replacing a decision already recorded for the pair. A refused or
        failed relation is reported, never fatal.
        """
        others = Item.objects.in_bulk([pk for pk, _relation in self.relations])
        recorded = 0
        for pk, relation in self.relations:
            other = others.get(pk)
            if other is None or other.pk == item.pk:
                continue
            kind, keeper = RELATIONS[relation]
            if keeper == "new" and not can_administer(request.user):
                messages.warning(
                    request,
                    _("Only administrators may retire %(id)s; nothing was recorded for it.")
                    % {"id": other.external_id},
                )
                continue
            if not may_relate(request.user, kind):
                messages.warning(
                    request,
                    _(
                        "Only administrators may record a duplicate, which retires an item; "
                        "nothing was recorded for %(id)s."
                    )
                    % {"id": other.external_id},
                )
                continue
            if decided_pairs(item.pk, [other.pk]) and not can_change_decisions(request.user):
                messages.warning(
                    request,
                    _(
                        "%(id)s already has a decision in duplicate review, which only "
                        "administrators change; nothing was recorded for it."
                    )
                    % {"id": other.external_id},
                )
                continue
            try:
                record_decision(
                    item,
                    other,
                    kind,
                    user=request.user,
                    keeper={"existing": other, "new": item}.get(keeper or ""),
                    note=_("Recorded while saving %(id)s.") % {"id": item.external_id},
                )
            except DecisionError as exc:
                messages.warning(request, f"{other.external_id}: {exc}")
                continue
            recorded += 1
        if recorded:
            messages.info(
                request,
                ngettext(
                    "The relation to %(count)d similar item was recorded.",
                    "The relations to %(count)d similar items were recorded.",
                    recorded,
                )
                % {"count": recorded},
            )
        return recorded


# The candidates a warning offered travel in the form signed, so "save anyway" can relate only
# items the server itself showed for this draft, to this user, lately.
OFFER_SALT = "search.authoring.offer"
OFFER_MAX_AGE = 24 * 3600


def sign_offer(user, item_id: int | None, candidate_ids: Sequence[int]) -> str:
    return signing.dumps(
        {"u": getattr(user, "pk", None), "i": item_id, "c": [int(pk) for pk in candidate_ids]},
        salt=OFFER_SALT,
        compress=True,
    )


def offered_ids(value: str, user, item_id: int | None) -> list[int]:
    """The ids `sign_offer` signed for this user and item; [] for anything else (forged,
    expired, another user's or another item's offer)."""
    try:
        offer = signing.loads(str(value or ""), salt=OFFER_SALT, max_age=OFFER_MAX_AGE)
    except signing.BadSignature:
        return []
    if not isinstance(offer, dict) or offer.get("u") != getattr(user, "pk", None):
        return []
    if offer.get("i") != item_id:
        return []
    return [pk for pk in offer.get("c") or [] if isinstance(pk, int)]


def may_relate(user, kind: str) -> bool:
    """What a user may record while saving an item: the duplicates API's own rule
    (`can_decide`), and besides it a teacher's variant, enemy or not-duplicate verdict on a pair
    with the item being saved. A "duplicate" retires an item, so it stays with `can_decide`
    (admins), as everywhere else."""
    if can_decide(user, kind):
        return True
    return can_edit_items(user) and kind != PairDecision.Kind.DUPLICATE


def relations_from_post(data, user=None, item_id: int | None = None) -> list[tuple[int, str]]:
    pks: list[int] = []
    for pk in offered_ids(data.get(CANDIDATES_FIELD, ""), user, item_id):
        if pk not in pks:
            pks.append(pk)
    chosen = [(pk, data.get(f"{RELATION_PREFIX}{pk}", "")) for pk in pks]
    return [(pk, relation) for pk, relation in chosen if relation in RELATIONS]


def gate_for(request: HttpRequest, form) -> Gate:
    """Run the check for a valid item form unless the teacher confirmed ("save anyway").

    The check runs when the page's form asked for it (the hidden `check_duplicates` field) and,
    for an edit, only when the text or the figures changed.
    """
    data = request.POST
    if data.get(CONFIRM_FIELD):
        return Gate(relations=relations_from_post(data, request.user, form.instance.pk))
    if not data.get(CHECK_FIELD):
        return Gate()
    draft = draft_from_form(form)
    if draft.item_id is not None:
        saved_hash = (
            Item.objects.filter(pk=draft.item_id).values_list("content_hash", flat=True).first()
        )
        if saved_hash == draft.content_hash():
            return Gate()
    check = check_draft(draft)
    check.offer = sign_offer(request.user, draft.item_id, [c.item.pk for c in check.candidates])
    return Gate(check=check)
