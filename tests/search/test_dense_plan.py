"""Dense queries are answered by the space's HNSW index at every ef_search the engine uses, with
statistics like a large bank's (issue 12).

At 176k × 2048 the planner preferred `Gather Merge` over a parallel scan of the space's rows plus
a sort to the index from ef_search ≈ 150: an exact search at ~1 s instead of a few ms. A bank that
large is too slow to build here, so the same choice is produced on a few thousand small vectors
by ANALYZE plus the planner costs a large table has: parallel workers cost nothing to start and
every relation is large enough for them (`LARGE_BANK`). `test_large_bank_costs_flip_the_plan`
checks that those costs do take the index away from an unpinned query, so the other tests can
fail; they replay the statements the engine (or the duplicate scan) issues, in their order, and
EXPLAIN its dense query after them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from benchmarks import bench_search as benchmark
from embeddings.models import ItemEmbedding
from itembank.models import Item, ItemStatus
from search.duplicates.models import DuplicateScan
from search.duplicates.scan import Scanner, scan_settings
from search.engine import dense_candidates
from tests.base import BaseTestCase

ROWS = 3000
DIMS = 32
EF_VALUES = (40, 100, 200, 400)  # pgvector's default, and what the engine and its settings use
LARGE_BANK = (
    "SET LOCAL parallel_setup_cost = 0",
    "SET LOCAL parallel_tuple_cost = 0",
    "SET LOCAL min_parallel_table_scan_size = 0",
    "SET LOCAL min_parallel_index_scan_size = 0",
)


@contextmanager
def isolated() -> Iterator[None]:
    """A savepoint rolled back at the end: inside a test's transaction the engine's own atomic
    block is only a savepoint, released, so its SET LOCALs would otherwise stay for the rest of
    the test and the replay below would prove nothing."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def plan_of(sql: str, params=None, settings: list[str] | tuple[str, ...] = ()) -> str:
    """EXPLAIN `sql` after `settings`, with large-bank planner costs, in a transaction of its own
    (rolled back: nothing of it stays for the next query)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in (*LARGE_BANK, *settings):
            cursor.execute(statement)
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


class DensePlanTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.mixture = benchmark.Mixture(dims=DIMS, topics=16, seed=0)
        cls.space, _timings = benchmark.fill_scratch(ROWS, DIMS, cls.mixture)
        with connection.cursor() as cursor:
            for model in (ItemEmbedding, Item):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        cls.vector = [float(x) for x in cls.mixture.queries(1)[0]]

    def engine_statements(self, n: int, filters: dict, exclude=()) -> tuple[list[str], str]:
        """The SET statements and the dense query `dense_candidates` issues, in order."""
        with isolated(), CaptureQueriesContext(connection) as queries:
            dense_candidates(self.space, self.vector, n, filters, exclude)
        statements = [q["sql"] for q in queries]
        dense = next(i for i, sql in enumerate(statements) if "<=>" in sql)
        settings = [sql for sql in statements[:dense] if sql.startswith("SET ")]
        return settings, statements[dense]

    def assertUsesIndex(self, plan: str) -> None:
        self.assertIn(f"Index Scan using {self.space.index_name}", plan)
        self.assertNotIn("Gather", plan)
        self.assertNotIn("Sort", plan)

    def test_large_bank_costs_flip_the_plan(self) -> None:
        _settings, sql = self.engine_statements(10, {})
        for ef in (100, 200, 400):
            with self.subTest(ef=ef):
                plan = plan_of(sql, settings=[f"SET LOCAL hnsw.ef_search = {ef}"])
                self.assertNotIn(self.space.index_name, plan)
                self.assertIn("Gather Merge", plan)

    def test_engine_dense_query_uses_the_index_at_every_ef_search(self) -> None:
        some_item = ItemEmbedding.objects.filter(space=self.space).values_list("item_id")[0][0]
        cases = [
            ("no filter", {}, ()),
            ("filter", {"subject": "수학", "status": ItemStatus.ACTIVE}, ()),
            ("more like this", {}, (some_item,)),
        ]
        for ef in EF_VALUES:
            for what, filters, exclude in cases:
                with self.subTest(ef=ef, query=what), override_settings(ITEMBANK_HNSW_EF_SEARCH=ef):
                    settings, sql = self.engine_statements(10, filters, exclude)
                    self.assertIn(f"SET LOCAL hnsw.ef_search = {ef}", settings)
                    self.assertUsesIndex(plan_of(sql, settings=settings))

    def test_engine_raises_ef_search_for_large_k_on_the_index(self) -> None:
        with override_settings(ITEMBANK_HNSW_EF_SEARCH=40):
            settings, sql = self.engine_statements(200, {"subject": "수학"})
        self.assertIn("SET LOCAL hnsw.ef_search = 400", settings)
        self.assertUsesIndex(plan_of(sql, settings=settings))

    def test_duplicate_scan_neighbours_use_the_index(self) -> None:
        scan = DuplicateScan.objects.create(space=self.space, settings=scan_settings(self.space))
        scanner = Scanner(scan, chunk_size=50)
        first = ItemEmbedding.objects.filter(space=self.space).order_by("item_id")[:50]
        scanner.vectors = scanner.vectors.filter(item_id__in=first.values("item_id"))
        with isolated(), CaptureQueriesContext(connection) as queries:
            scanner.neighbour_pairs()
        statements = [q["sql"] for q in queries]
        lateral = next(i for i, sql in enumerate(statements) if "<=>" in sql)
        settings = [sql for sql in statements[:lateral] if sql.startswith("SET ")]
        self.assertIn("SET LOCAL hnsw.ef_search = 40", settings)
        self.assertUsesIndex(plan_of(statements[lateral], settings=settings))

    def test_the_settings_end_with_the_query(self) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL hnsw.ef_search = 77")
            dense_candidates(self.space, self.vector, 10, {"subject": "수학"})
            cursor.execute(
                "SELECT current_setting('hnsw.ef_search'), current_setting('enable_sort'),"
                " current_setting('max_parallel_workers_per_gather')::int > 0,"
                " current_setting('hnsw.iterative_scan')"
            )
            self.assertEqual(cursor.fetchone(), ("77", "on", True, "off"))
