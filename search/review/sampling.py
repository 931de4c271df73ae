"""Stratified samples of query–candidate pairs for expert verification (the POC's section 10).

For every query of a ground-truth set the configured search (`search.engine.search`, "more like
this" from the query item) is run once, and each pair falls into at most one stratum:

- ``tp`` true positive: in the ground truth and in the top 3;
- ``fp`` suspected false positive: in the top 3, not in the ground truth;
- ``fn`` false negative: in the ground truth, outside the top 10.

Each stratum is put in a fixed order (query external id, candidate external id) and sampled with
one `random.Random(seed)`, so the same bank, set, configuration and seed give the same sample.
The drawn pairs are then shuffled with the same generator, so reviewers do not meet them grouped
by stratum. The POC drew 20 / 15 / 15 of 50.

A pair's similarity is the search score where the candidate was ranked within the k results
asked for; otherwise (a false negative further down) the cosine similarity of the two stored
vectors in the space, or None when the mode has no space.

The file format is formats.md's "Expert verification samples": a JSON list of
``{"query", "candidate", "stratum", "similarity", "in_ground_truth", "labels": [...]}``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from embeddings.models import EmbeddingSpace, ItemEmbedding
from itembank import jobs
from itembank.models import Item, User
from search import engine

from .models import (
    MAX_GRADE,
    MAX_REVIEWERS_PER_PAIR,
    Campaign,
    Label,
    LabelValue,
    ReviewPair,
    SamplingJob,
)

DEFAULT_SIZES = {"tp": 20, "fp": 15, "fn": 15}
TOP = 3
OUTSIDE = 10
DEFAULT_DEPTH = 100
MAX_SAMPLE = 5000


class SamplingError(Exception):
    """A sample or a samples file that cannot be used; the message is shown as is."""


@dataclass
class SearchConfig:
    space: str | None = None
    mode: str = "dense"
    alpha: float | None = None
    k: int = DEFAULT_DEPTH
    rerank: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Sample:
    query: Item
    candidate: Item
    stratum: str
    similarity: float | None
    in_ground_truth: bool
    rank: int | None = None
    labels: list[dict] = field(default_factory=list)


def _vectors(space: EmbeddingSpace, ids: Iterable[int]) -> dict[int, np.ndarray]:
    rows = ItemEmbedding.objects.filter(space=space, item_id__in=list(ids)).values_list(
        "item_id", "embedding"
    )
    out = {}
    for pk, vec in rows:
        values = vec.to_list() if hasattr(vec, "to_list") else vec
        out[pk] = np.asarray(values, dtype=np.float64)
    return out


def _cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else None


def strata(
    gt_set,
    config: SearchConfig,
    *,
    top: int = TOP,
    outside: int = OUTSIDE,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Every pair of every stratum, each list in its fixed order. `progress(done, total)` is
    called after each query's search."""
    if config.k < outside:
        raise SamplingError(
            _("Search at least %(n)d results deep to find false negatives.") % {"n": outside}
        )
    relevant: dict[int, set[int]] = {}
    for query_id, relevant_id in gt_set.pairs.values_list("query_id", "relevant_id"):
        relevant.setdefault(query_id, set()).add(relevant_id)
    if not relevant:
        raise SamplingError(_("The ground truth set %(name)s has no pairs.") % {"name": gt_set})
    items = Item.objects.in_bulk({pk for ids in relevant.values() for pk in ids} | set(relevant))
    space = None
    if config.space:
        space = EmbeddingSpace.objects.filter(name=config.space).first()
    out: dict[str, list[Sample]] = {"tp": [], "fp": [], "fn": []}
    for done, query_id in enumerate(sorted(relevant, key=lambda pk: items[pk].external_id)):
        if progress is not None:
            progress(done, len(relevant))
        query = items[query_id]
        try:
            result = engine.search(
                engine.SearchRequest(
                    item_id=query_id,
                    mode=config.mode,
                    space=config.space,
                    alpha=config.alpha,
                    k=config.k,
                    rerank=config.rerank,
                )
            )
        except engine.SearchError as exc:
            raise SamplingError(
                _("Search failed for %(id)s: %(error)s") % {"id": query.external_id, "error": exc}
            ) from exc
        if space is None and result.space:
            space = EmbeddingSpace.objects.filter(name=result.space).first()
        ranked = {hit.item.pk: hit for hit in result.hits}
        for hit in result.hits:
            items.setdefault(hit.item.pk, hit.item)
        gt = relevant[query_id]
        for hit in result.hits[:top]:
            stratum = "tp" if hit.item.pk in gt else "fp"
            out[stratum].append(
                Sample(query, hit.item, stratum, hit.score, hit.item.pk in gt, hit.rank)
            )
        missed = [pk for pk in gt if pk not in ranked or ranked[pk].rank > outside]
        vectors = _vectors(space, [query_id, *missed]) if space is not None and missed else {}
        for pk in missed:
            hit = ranked.get(pk)
            if hit is not None:
                similarity, rank = hit.score, hit.rank
            elif query_id in vectors and pk in vectors:
                similarity, rank = _cosine(vectors[query_id], vectors[pk]), None
            else:
                similarity, rank = None, None
            out["fn"].append(Sample(query, items[pk], "fn", similarity, True, rank))
    for samples in out.values():
        samples.sort(key=lambda s: (s.query.external_id, s.candidate.external_id))
    return out


def draw(by_stratum: dict[str, list[Sample]], sizes: dict[str, int], seed: int) -> list[Sample]:
    """`sizes[stratum]` pairs of each stratum (all of them where fewer exist), shuffled."""
    rng = random.Random(seed)
    drawn: list[Sample] = []
    for stratum in sorted(by_stratum):
        pool = by_stratum[stratum]
        n = sizes.get(stratum, 0)
        if n < 0:
            raise SamplingError(_("Sample sizes cannot be negative."))
        drawn.extend(rng.sample(pool, min(n, len(pool))))
    rng.shuffle(drawn)
    return drawn


def check_sizes(sizes: dict[str, int]) -> dict[str, int]:
    if sum(sizes.values()) > MAX_SAMPLE:
        raise SamplingError(_("Draw at most %(max)d pairs in one campaign.") % {"max": MAX_SAMPLE})
    return sizes


def sample_pairs(
    gt_set,
    config: SearchConfig,
    sizes: dict[str, int] | None = None,
    seed: int = 42,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Sample], dict[str, int]]:
    """The drawn sample and how many pairs each stratum had to draw from."""
    sizes = check_sizes(dict(DEFAULT_SIZES if sizes is None else sizes))
    by_stratum = strata(gt_set, config, progress=progress)
    available = {name: len(pool) for name, pool in by_stratum.items()}
    return draw(by_stratum, sizes, seed), available


# -- campaigns ----------------------------------------------------------------------------------


def check_campaign_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise SamplingError(_("Give the campaign a name."))
    if len(name) > 100:
        raise SamplingError(_("Keep the campaign name under 100 characters."))
    if Campaign.objects.filter(name=name).exists():
        raise SamplingError(_("A campaign named %(name)s exists already.") % {"name": name})
    return name


def check_reviewers(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_REVIEWERS_PER_PAIR:
        raise SamplingError(
            _("Each pair needs between 1 and %(max)d reviewers.") % {"max": MAX_REVIEWERS_PER_PAIR}
        )
    return n


@transaction.atomic
def create_campaign(
    name: str,
    samples: list[Sample],
    *,
    gt_set=None,
    config: dict | None = None,
    reviewers_per_pair: int = 1,
    user: User | None = None,
    **fields,
) -> Campaign:
    """A campaign holding `samples` in their order; labels the samples carry are stored as
    submitted labels."""
    name = check_campaign_name(name)
    check_reviewers(reviewers_per_pair)
    if not samples:
        raise SamplingError(_("The sample is empty: there are no pairs to review."))
    campaign = Campaign.objects.create(
        name=name,
        gt_set=gt_set,
        search_config=config or {},
        reviewers_per_pair=reviewers_per_pair,
        created_by=user if user is not None and user.is_authenticated else None,
        **fields,
    )
    pairs = ReviewPair.objects.bulk_create(
        ReviewPair(
            campaign=campaign,
            query=s.query,
            candidate=s.candidate,
            query_external_id=s.query.external_id,
            candidate_external_id=s.candidate.external_id,
            stratum=s.stratum,
            similarity=s.similarity,
            rank=s.rank,
            in_ground_truth=s.in_ground_truth,
            position=position,
        )
        for position, s in enumerate(samples, start=1)
    )
    labels = [
        Label(pair=pair, status=Label.Status.SUBMITTED, **values)
        for pair, s in zip(pairs, samples, strict=True)
        for values in s.labels
    ]
    if labels:
        now = timezone.now()
        for label in labels:
            label.finished_at = now
        Label.objects.bulk_create(labels)
        from .services import sync_pair

        for pair in pairs:
            sync_pair(pair, user=user)
    return campaign


# -- sampling in the background ----------------------------------------------------------------


def start_sampling(
    name: str,
    gt_set,
    config: SearchConfig,
    sizes: dict[str, int],
    seed: int,
    *,
    reviewers_per_pair: int = 1,
    user: User | None = None,
    **fields,
) -> SamplingJob:
    """Check what can be checked at once, then queue the drawing of the sample and the creation
    of the campaign (`run_sampling_job`); the page follows the job's progress."""
    name = check_campaign_name(name)
    check_reviewers(reviewers_per_pair)
    check_sizes(sizes)
    if config.k < OUTSIDE:
        raise SamplingError(
            _("Search at least %(n)d results deep to find false negatives.") % {"n": OUTSIDE}
        )
    with transaction.atomic():
        job = SamplingJob.objects.create(
            name=name,
            gt_set=gt_set,
            search_config={**config.as_dict(), "seed": seed, "sizes": dict(sizes)},
            reviewers_per_pair=reviewers_per_pair,
            campaign_fields=fields,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        jobs.enqueue(job)
    return job


def run_sampling_job(job_id: int) -> SamplingJob | None:
    """The task `review.sample_campaign`: draw the sample, create the campaign."""
    return jobs.run(SamplingJob, job_id, _sample, expected=(SamplingError,))


def _sample(job: SamplingJob) -> None:
    if job.gt_set is None:
        raise SamplingError(_("The ground truth set was deleted."))
    stored = job.search_config
    config = SearchConfig(**{key: stored[key] for key in SearchConfig().as_dict() if key in stored})
    samples, _available = sample_pairs(
        job.gt_set, config, stored["sizes"], seed=stored["seed"], progress=jobs.Reporter(job)
    )
    campaign = create_campaign(
        job.name,
        samples,
        gt_set=job.gt_set,
        config=stored,
        reviewers_per_pair=job.reviewers_per_pair,
        user=job.created_by,
        **job.campaign_fields,
    )
    jobs.succeed(job, campaign=campaign, pair_count=len(samples), done=F("total"))


# -- the samples file ---------------------------------------------------------------------------


def export_samples(campaign: Campaign) -> list[dict]:
    """The campaign in formats.md's verification format, with its submitted labels (and, as
    optional extra keys, the rank, the adjudicated label and when each label was given)."""
    out = []
    pairs = campaign.pairs.prefetch_related("labels__reviewer").select_related("adjudication")
    for pair in pairs.order_by("position"):
        entry = {
            "query": pair.query_external_id,
            "candidate": pair.candidate_external_id,
            "stratum": pair.stratum,
            "similarity": pair.similarity,
            "in_ground_truth": pair.in_ground_truth,
            "labels": [
                {
                    "reviewer": label.reviewer.username,
                    "label": label.label,
                    "grade": label.grade,
                    "note": label.note,
                    "submitted_at": label.finished_at.isoformat() if label.finished_at else None,
                    "seconds_spent": label.seconds_spent,
                }
                for label in sorted(pair.labels.all(), key=lambda x: (x.finished_at, x.pk))
                if label.status == Label.Status.SUBMITTED
            ],
        }
        if pair.rank is not None:
            entry["rank"] = pair.rank
        adjudication = getattr(pair, "adjudication", None)
        if adjudication is not None:
            entry["adjudication"] = {
                "label": adjudication.label,
                "grade": adjudication.grade,
                "note": adjudication.note,
                "by": adjudication.decided_by.username if adjudication.decided_by else None,
            }
        out.append(entry)
    return out


def _where(index: int, key: str | None = None) -> str:
    if key is None:
        return _("entry %(n)d") % {"n": index + 1}
    return _("entry %(n)d, %(key)s") % {"n": index + 1, "key": key}


def parse_samples(data) -> list[Sample]:
    """Samples from a loaded verification file; the first problem raises SamplingError naming
    the entry and the key, before anything is written."""
    if not isinstance(data, list):
        raise SamplingError(_("The samples file must hold a JSON list of pairs."))
    if len(data) > MAX_SAMPLE:
        raise SamplingError(_("Load at most %(max)d pairs at once.") % {"max": MAX_SAMPLE})
    wanted = set()
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise SamplingError(_("%(where)s: expected an object.") % {"where": _where(i)})
        for key in ("query", "candidate"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise SamplingError(
                    _("%(where)s: give the item's external id.") % {"where": _where(i, key)}
                )
            wanted.add(entry[key].strip())
    items = Item.objects.in_bulk(list(wanted), field_name="external_id")
    usernames = {
        label.get("reviewer")
        for entry in data
        for label in (entry.get("labels") or [])
        if isinstance(label, dict)
    }
    users = {u.username: u for u in User.objects.filter(username__in=[u for u in usernames if u])}
    seen = set()
    samples = []
    for i, entry in enumerate(data):
        query_id, candidate_id = entry["query"].strip(), entry["candidate"].strip()
        for key, ext in (("query", query_id), ("candidate", candidate_id)):
            if ext not in items:
                raise SamplingError(
                    _("%(where)s: there is no item %(id)s in the bank.")
                    % {"where": _where(i, key), "id": ext}
                )
        if query_id == candidate_id:
            raise SamplingError(
                _("%(where)s: the query and the candidate are the same item.")
                % {"where": _where(i)}
            )
        if (query_id, candidate_id) in seen:
            raise SamplingError(
                _("%(where)s: the pair %(q)s ↔ %(c)s is listed twice.")
                % {"where": _where(i), "q": query_id, "c": candidate_id}
            )
        seen.add((query_id, candidate_id))
        stratum = entry.get("stratum", "")
        if stratum is None:
            stratum = ""
        if not isinstance(stratum, str) or len(stratum) > 32:
            raise SamplingError(
                _("%(where)s: the stratum must be a short text.") % {"where": _where(i, "stratum")}
            )
        similarity = entry.get("similarity")
        if similarity is not None and (
            isinstance(similarity, bool)
            or not isinstance(similarity, int | float)
            or not math.isfinite(similarity)
        ):
            raise SamplingError(
                _("%(where)s: the similarity must be a number.")
                % {"where": _where(i, "similarity")}
            )
        in_gt = entry.get("in_ground_truth", False)
        if not isinstance(in_gt, bool):
            raise SamplingError(
                _("%(where)s: write true or false.") % {"where": _where(i, "in_ground_truth")}
            )
        rank = entry.get("rank")
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 1):
            raise SamplingError(
                _("%(where)s: the rank must be a whole number of at least 1.")
                % {"where": _where(i, "rank")}
            )
        labels = entry.get("labels") or []
        if not isinstance(labels, list):
            raise SamplingError(
                _("%(where)s: the labels must be a list.") % {"where": _where(i, "labels")}
            )
        parsed = []
        reviewers = set()
        for label in labels:
            parsed.append(_parse_label(label, i, users, reviewers))
        samples.append(
            Sample(
                items[query_id],
                items[candidate_id],
                stratum.strip(),
                float(similarity) if similarity is not None else None,
                in_gt,
                rank,
                parsed,
            )
        )
    if not samples:
        raise SamplingError(_("The samples file lists no pairs."))
    return samples


def _parse_label(label, i: int, users: dict, reviewers: set) -> dict:
    where = _where(i, "labels")
    if not isinstance(label, dict):
        raise SamplingError(_("%(where)s: each label must be an object.") % {"where": where})
    username = label.get("reviewer")
    if username not in users:
        raise SamplingError(
            _("%(where)s: there is no user named %(name)s.") % {"where": where, "name": username}
        )
    if username in reviewers:
        raise SamplingError(
            _("%(where)s: %(name)s labelled this pair twice.") % {"where": where, "name": username}
        )
    reviewers.add(username)
    value = label.get("label")
    if value not in LabelValue.values:
        raise SamplingError(
            _("%(where)s: the label must be one of %(labels)s.")
            % {"where": where, "labels": ", ".join(LabelValue.values)}
        )
    grade = label.get("grade")
    if grade is not None and (
        isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= MAX_GRADE
    ):
        raise SamplingError(
            _("%(where)s: the grade must be a whole number from 0 to %(max)d.")
            % {"where": where, "max": MAX_GRADE}
        )
    note = label.get("note") or ""
    if not isinstance(note, str) or len(note) > 2000:
        raise SamplingError(
            _("%(where)s: the note must be text under 2,000 characters.") % {"where": where}
        )
    seconds = label.get("seconds_spent") or 0
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        seconds = 0
    return {
        "reviewer": users[username],
        "label": value,
        "grade": grade,
        "note": note,
        "seconds_spent": seconds,
    }
