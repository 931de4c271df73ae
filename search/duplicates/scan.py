"""The duplicate scan: finds candidate pairs over the whole bank and groups them.

1. Fingerprints: each item's normalised-text hash and figure hashes (`exact.py`), recomputed only
   for items whose content changed since the last scan. Exact pairs: items sharing a text hash
   (and matching figures), and items whose figures all match (found through band buckets, never
   by comparing every pair).
2. Neighbours: for every item with a vector in the space, its nearest neighbours through the
   space's HNSW index (one LATERAL query per chunk of items, `hnsw.ef_search` raised for it);
   pairs at or above the subject's threshold are kept, with their cosine similarity.
3. Decided pairs are removed (every verdict is respected), and the pairs are grouped into
   connected components (union-find) = `DuplicateGroup`s.

Items are read in chunks by id, so memory grows with the number of candidate pairs' items, not
with the bank; progress (and a heartbeat) is written after every chunk. Results are written under
the scan and shown only once it has succeeded; a failure deletes what it had written and records
why. A scan whose worker died stays "running" until its heartbeat is older than
ITEMBANK_STALE_JOB_SECONDS, then the beat's `itembank.jobs.fail_stale` fails it and discards its
rows; the redelivered task (acknowledged late) runs it again from the start.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from embeddings.models import ItemEmbedding
from embeddings.services import hnsw_scan
from itembank import jobs
from itembank.models import Item, ItemImage, ItemStatus

from . import exact
from .models import (
    DuplicateCandidate,
    DuplicateGroup,
    DuplicateScan,
    ItemFingerprint,
    PairDecision,
)
from .services import scan_settings

logger = logging.getLogger(__name__)

CHUNK_SIZE = 200
FINGERPRINT_CHUNK_SIZE = 500
# An exact-text group this large is linked as a star (each to the first), not every pair.
MAX_ALL_PAIRS = 30
# A figure-hash bucket this large is a blank or generic figure: only exact hash twins count.
MAX_BUCKET = 200
KEEP_SCANS = 2
SCAN_LOCK = 0x64757073  # pg advisory lock class of running scans ("dups")


def run_scan(scan_id: int, *, chunk_size: int = CHUNK_SIZE) -> DuplicateScan | None:
    """Run the scan `scan_id` from the start (a redelivered task starts over), with the
    thresholds snapshotted in `scan.settings` when it was requested (or the current ones)."""
    with scan_lock(scan_id) as acquired:
        if not acquired:  # a redelivered message while the first run is still going
            logger.warning("duplicate scan %s is already running elsewhere; not started", scan_id)
            return DuplicateScan.objects.filter(pk=scan_id).first()
        return jobs.run(DuplicateScan, scan_id, lambda scan: _scan(scan, chunk_size))


def _scan(scan: DuplicateScan, chunk_size: int) -> None:
    clear_results(scan)
    fields = {"phase": DuplicateScan.Phase.WAITING}
    if not scan.settings:
        fields["settings"] = scan_settings(scan.space)
    DuplicateScan.objects.filter(pk=scan.pk).update(**fields)
    scan.refresh_from_db()
    Scanner(scan, chunk_size).run()


@contextmanager
def scan_lock(scan_id: int) -> Iterator[bool]:
    """A session-level advisory lock on the scan, so two deliveries of its task never run it at
    once; PostgreSQL releases it when the holder's connection ends (a killed worker's too)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SCAN_LOCK, scan_id])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SCAN_LOCK, scan_id])


def clear_results(scan: DuplicateScan) -> None:
    DuplicateGroup.objects.filter(scan=scan).delete()
    DuplicateCandidate.objects.filter(scan=scan).delete()


def chunks(ids: Iterator[int], size: int) -> Iterator[list[int]]:
    batch: list[int] = []
    for pk in ids:
        batch.append(pk)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def keyset(qs, field: str, size: int) -> Iterator[list[int]]:
    """The values of `field` (an increasing id) of `qs`, a chunk at a time."""
    last = 0
    while True:
        batch = list(
            qs.filter(**{f"{field}__gt": last}).order_by(field).values_list(field, flat=True)[:size]
        )
        if not batch:
            return
        yield batch
        last = batch[-1]


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent.setdefault(x, x)
        if parent != x:
            root = x
            while self.parent[root] != root:
                root = self.parent[root]
            while self.parent[x] != root:  # path compression
                self.parent[x], x = root, self.parent[x]
            return root
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def components(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for x in self.parent:
            out[self.find(x)].append(x)
        return out


class Scanner:
    def __init__(self, scan: DuplicateScan, chunk_size: int) -> None:
        self.scan = scan
        self.space = scan.space
        self.chunk_size = chunk_size
        self.thresholds: dict[str, float] = scan.settings["thresholds"]
        self.default_threshold = float(scan.settings["default_threshold"])
        self.neighbours = int(scan.settings["neighbours"])
        self.bound = int(scan.settings["phash_distance"])
        self.items = Item.objects.exclude(status=ItemStatus.RETIRED)
        self.vectors = (
            ItemEmbedding.objects.filter(space=self.space).exclude(item__status=ItemStatus.RETIRED)
            if self.space is not None
            else ItemEmbedding.objects.none()
        )

    # progress ----------------------------------------------------------------------------------

    def set_phase(self, phase: DuplicateScan.Phase) -> None:
        DuplicateScan.objects.filter(pk=self.scan.pk).update(phase=phase)
        jobs.progress(self.scan, message=phase.label)

    def advance(self, n: int) -> None:
        jobs.progress(self.scan, F("done") + n)

    def run(self) -> None:
        total = self.items.count() + self.vectors.count() + 1
        jobs.progress(self.scan, total=total)
        self.set_phase(DuplicateScan.Phase.FINGERPRINTS)
        self.refresh_fingerprints()
        self.exact_text_pairs()
        self.exact_figure_pairs()
        if self.space is not None:
            self.set_phase(DuplicateScan.Phase.NEIGHBOURS)
            self.neighbour_pairs()
            self.fill_scores()
        self.set_phase(DuplicateScan.Phase.GROUPING)
        self.drop_decided()
        groups, pairs = self.group()
        self.advance(1)
        # Only a scan still running becomes complete: one failed meanwhile as interrupted
        # (jobs.fail_stale) had rows discarded under it, so what it has is partial.
        finished = jobs.succeed(
            self.scan,
            phase=DuplicateScan.Phase.DONE,
            message=str(DuplicateScan.Phase.DONE.label),
            done=total,
            pair_count=pairs,
            group_count=groups,
        )
        if not finished:
            logger.warning("duplicate scan %s was failed while running; discarded", self.scan.pk)
            clear_results(self.scan)
            return
        self.forget_old_scans()

    # 1. exact matches --------------------------------------------------------------------------

    def refresh_fingerprints(self) -> None:
        for ids in keyset(self.items, "id", FINGERPRINT_CHUNK_SIZE):
            rows = Item.objects.filter(pk__in=ids).values_list(
                "id", "stem", "choices", "content_hash"
            )
            known = dict(
                ItemFingerprint.objects.filter(item_id__in=ids).values_list(
                    "item_id", "content_hash"
                )
            )
            stale = [row for row in rows if known.get(row[0]) != row[3]]
            if stale:
                files: dict[int, list[tuple[str, str]]] = defaultdict(list)
                for item_id, path, sha in (
                    ItemImage.objects.filter(item_id__in=[r[0] for r in stale])
                    .order_by("item_id", "position", "id")
                    .values_list("item_id", "file", "sha256")
                ):
                    files[item_id].append((path, sha))
                storage = ItemImage._meta.get_field("file").storage
                prints = [
                    ItemFingerprint(
                        item_id=item_id,
                        content_hash=content,
                        text_key=exact.text_key(stem, choices or []),
                        image_hashes=[
                            [sha, exact.image_hash(storage.path(name))]
                            for name, sha in files[item_id]
                        ],
                    )
                    for item_id, stem, choices, content in stale
                ]
                ItemFingerprint.objects.bulk_create(
                    prints,
                    update_conflicts=True,
                    unique_fields=["item"],
                    update_fields=["content_hash", "text_key", "image_hashes", "updated_at"],
                )
            self.advance(len(ids))

    def live_fingerprints(self):
        return ItemFingerprint.objects.exclude(item__status=ItemStatus.RETIRED)

    def exact_text_pairs(self) -> None:
        shared = (
            self.live_fingerprints()
            .exclude(text_key="")
            .values("text_key")
            .annotate(n=Count("item"), ids=ArrayAgg("item_id", order_by="item_id"))
            .filter(n__gt=1)
            .order_by("text_key")
        )
        batch: list[tuple[int, int, str]] = []
        for row in shared.iterator(chunk_size=500):
            ids = row["ids"]
            figures = dict(
                ItemFingerprint.objects.filter(item_id__in=ids).values_list(
                    "item_id", "image_hashes"
                )
            )
            if len(ids) <= MAX_ALL_PAIRS:
                pairs = ((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
            else:
                pairs = ((ids[0], b) for b in ids[1:])
            for a, b in pairs:
                fa, fb = figures.get(a) or [], figures.get(b) or []
                if (not fa and not fb) or exact.figures_match(fa, fb, self.bound):
                    batch.append((a, b, DuplicateCandidate.Exact.TEXT))
            if len(batch) >= 1000:
                self.write_exact(batch)
                batch = []
        self.write_exact(batch)

    def exact_figure_pairs(self) -> None:
        """Items whose figures all match another item's, with a different text."""
        figures: dict[int, tuple[list[str], str]] = {}
        buckets: dict[tuple, list[int]] = defaultdict(list)
        rows = (
            self.live_fingerprints()
            .exclude(image_hashes=[])
            .values_list("item_id", "image_hashes", "text_key")
        )
        for item_id, hashes, key in rows.iterator(chunk_size=2000):
            figures[item_id] = (hashes, key)
            for key in exact.bucket_keys(hashes[0], self.bound):
                buckets[key].append(item_id)
        seen: set[tuple[int, int]] = set()
        batch: list[tuple[int, int, str]] = []
        for members in buckets.values():
            if len(members) < 2:
                continue
            if len(members) > MAX_BUCKET:
                first = figures[members[0]][0][0][0]  # the sha256 of its first figure
                members = [m for m in members if figures[m][0][0][0] == first]
                pairs: Iterable = ((members[0], m) for m in members[1:])
            else:
                pairs = (
                    (a, b) for i, a in enumerate(sorted(members)) for b in sorted(members)[i + 1 :]
                )
            for a, b in pairs:
                a, b = min(a, b), max(a, b)
                if (a, b) in seen:
                    continue
                seen.add((a, b))
                (fa, ka), (fb, kb) = figures[a], figures[b]
                if ka != kb and exact.figures_match(fa, fb, self.bound):
                    batch.append((a, b, DuplicateCandidate.Exact.FIGURE))
            if len(batch) >= 1000:
                self.write_exact(batch)
                batch = []
        self.write_exact(batch)

    def write_exact(self, pairs: list[tuple[int, int, str]]) -> None:
        if not pairs:
            return
        DuplicateCandidate.objects.bulk_create(
            [
                DuplicateCandidate(scan=self.scan, item_a_id=a, item_b_id=b, exact=kind)
                for a, b, kind in pairs
            ],
            update_conflicts=True,
            unique_fields=["scan", "item_a", "item_b"],
            update_fields=["exact"],
        )

    # 2. nearest neighbours ---------------------------------------------------------------------

    def threshold(self, subject: str) -> float:
        return float(self.thresholds.get(subject, self.default_threshold))

    def neighbour_sql(self) -> str:
        q = connection.ops.quote_name
        dims = int(self.space.dimensions)
        vec = f"embedding::halfvec({dims})"
        emb, item = q(ItemEmbedding._meta.db_table), q(Item._meta.db_table)
        # The inner ORDER BY repeats the indexed expression, so the space's partial HNSW index
        # serves it (shared/design/pgvector.md); the query vector comes from the outer row.
        return f"""
            SELECT q.item_id, qi.subject, n.item_id, ni.subject, n.distance
            FROM {emb} q
            JOIN {item} qi ON qi.id = q.item_id
            CROSS JOIN LATERAL (
                SELECT e.item_id, e.{vec} <=> q.{vec} AS distance
                FROM {emb} e
                WHERE e.space_id = %(space)s
                ORDER BY e.{vec} <=> q.{vec}
                LIMIT %(k)s
            ) n
            JOIN {item} ni ON ni.id = n.item_id
            WHERE q.space_id = %(space)s AND q.item_id = ANY(%(ids)s)
              AND n.item_id <> q.item_id AND ni.status <> %(retired)s
              AND n.distance <= %(max_distance)s
        """

    def neighbour_pairs(self) -> None:
        sql = self.neighbour_sql()
        k = self.neighbours + 1  # the item itself comes back first
        lowest = min([self.default_threshold, *map(float, self.thresholds.values())])
        for ids in keyset(self.vectors, "item_id", self.chunk_size):
            params = {
                "space": self.space.pk,
                "k": k,
                "ids": ids,
                "retired": ItemStatus.RETIRED,
                "max_distance": 1.0 - lowest + 1e-6,
            }
            with hnsw_scan(max(40, 2 * k)) as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            found: dict[tuple[int, int], float] = {}
            for qid, qsubject, nid, nsubject, distance in rows:
                score = max(-1.0, min(1.0, 1.0 - float(distance)))
                if score + 1e-6 < max(self.threshold(qsubject), self.threshold(nsubject)):
                    continue
                found[(min(qid, nid), max(qid, nid))] = round(score, 4)
            if found:
                DuplicateCandidate.objects.bulk_create(
                    [
                        DuplicateCandidate(scan=self.scan, item_a_id=a, item_b_id=b, score=s)
                        for (a, b), s in found.items()
                    ],
                    update_conflicts=True,
                    unique_fields=["scan", "item_a", "item_b"],
                    update_fields=["score"],
                )
            self.advance(len(ids))

    def fill_scores(self) -> None:
        """Exact pairs the neighbour search did not reach still get their similarity."""
        q = connection.ops.quote_name
        dims = int(self.space.dimensions)
        cand, emb = q(DuplicateCandidate._meta.db_table), q(ItemEmbedding._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {cand} c
                SET score = round((1 - (ea.embedding::halfvec({dims})
                                        <=> eb.embedding::halfvec({dims})))::numeric, 4)
                FROM {emb} ea, {emb} eb
                WHERE c.scan_id = %s AND c.score IS NULL
                  AND ea.space_id = %s AND ea.item_id = c.item_a_id
                  AND eb.space_id = %s AND eb.item_id = c.item_b_id
                """,
                [self.scan.pk, self.space.pk, self.space.pk],
            )

    # 3. decisions and groups -------------------------------------------------------------------

    def drop_decided(self) -> None:
        q = connection.ops.quote_name
        cand, dec = q(DuplicateCandidate._meta.db_table), q(PairDecision._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {cand} c USING {dec} d WHERE c.scan_id = %s "
                "AND c.item_a_id = d.item_a_id AND c.item_b_id = d.item_b_id",
                [self.scan.pk],
            )

    def group(self) -> tuple[int, int]:
        uf = UnionFind()
        pairs = 0
        rows = DuplicateCandidate.objects.filter(scan=self.scan).values_list("item_a", "item_b")
        for a, b in rows.iterator(chunk_size=5000):
            uf.union(a, b)
            pairs += 1
        components = sorted(sorted(members) for members in uf.components().values())
        if not components:
            return 0, 0
        now = timezone.now()
        for batch in chunks(iter(range(len(components))), 1000):
            comps = [components[i] for i in batch]
            ids = [pk for comp in comps for pk in comp]
            info = dict(
                (pk, (subject, created))
                for pk, subject, created in Item.objects.filter(pk__in=ids).values_list(
                    "id", "subject", "created_at"
                )
            )
            groups = []
            for comp in comps:
                subjects = Counter(info[pk][0] for pk in comp)
                top = max(subjects.values())
                groups.append(
                    DuplicateGroup(
                        scan=self.scan,
                        subject=min(s for s, n in subjects.items() if n == top),
                        max_score=0.0,
                        size=len(comp),
                        item_ids=comp,
                        newest_item_at=max(info[pk][1] for pk in comp),
                        created_at=now,
                    )
                )
            DuplicateGroup.objects.bulk_create(groups)
            mapping = [(pk, g.pk) for g, comp in zip(groups, comps, strict=True) for pk in comp]
            self.assign(mapping)
            self.advance(0)  # a heartbeat
        self.summarise()
        return len(components), pairs

    def assign(self, mapping: list[tuple[int, int]]) -> None:
        """Point each candidate at the group of its first item."""
        q = connection.ops.quote_name
        cand = q(DuplicateCandidate._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(mapping), 2000):
                part = mapping[start : start + 2000]
                values = ", ".join(["(%s::bigint, %s::bigint)"] * len(part))
                cursor.execute(
                    f"UPDATE {cand} c SET group_id = v.g FROM (VALUES {values}) AS v(item, g) "
                    "WHERE c.scan_id = %s AND c.item_a_id = v.item",
                    [x for pair in part for x in pair] + [self.scan.pk],
                )

    def summarise(self) -> None:
        q = connection.ops.quote_name
        cand, grp = q(DuplicateCandidate._meta.db_table), q(DuplicateGroup._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {grp} g
                SET max_score = s.max_score, has_exact = s.has_exact
                FROM (
                    SELECT group_id,
                           max(coalesce(score, CASE WHEN exact <> '' THEN 1 ELSE 0 END))
                               AS max_score,
                           bool_or(exact <> '') AS has_exact
                    FROM {cand} WHERE scan_id = %s GROUP BY group_id
                ) s
                WHERE g.id = s.group_id
                """,
                [self.scan.pk],
            )

    def forget_old_scans(self) -> None:
        """Keep the results of the last KEEP_SCANS successful scans; older ones only as rows."""
        old = DuplicateScan.objects.filter(status=DuplicateScan.Status.SUCCEEDED).order_by(
            "-finished_at", "-id"
        )[KEEP_SCANS:]
        old_ids = list(old.values_list("id", flat=True))
        if old_ids:
            DuplicateGroup.objects.filter(scan_id__in=old_ids).delete()
            DuplicateCandidate.objects.filter(scan_id__in=old_ids).delete()
