"""Every search served to a user leaves a SearchTiming row (mode, source, wall time, results,
error class), written by the engine's single entry point; recording never breaks a search."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from itembank.models import Item
from monitoring import timing
from monitoring.models import SearchTiming
from monitoring.tasks import prune_search_timings
from search import keyword
from search.engine import SearchError, SearchRequest, search
from search.models import SearchSettings
from tests.base import BaseTestCase
from tests.search.test_engine import embedded_space, make_bank


class SearchTimingTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.items = make_bank()
        self.space = embedded_space(self.items)

    def test_a_search_through_the_engine_is_recorded(self) -> None:
        with timing.search_source("web"):
            result = search(SearchRequest(text=self.items[2].stem, mode="dense", k=4))
        row = SearchTiming.objects.get()
        self.assertEqual((row.source, row.mode, row.results), ("web", "dense", len(result.hits)))
        self.assertTrue(row.ok)
        self.assertEqual(row.error, "")
        self.assertGreater(row.milliseconds, 0)
        self.assertGreaterEqual(row.milliseconds, result.took_ms)

    def test_searches_outside_requests_are_not_recorded(self) -> None:
        search(SearchRequest(text=self.items[2].stem, mode="dense", k=4))
        self.assertFalse(SearchTiming.objects.exists())

    def test_a_failed_search_is_recorded_with_its_error_class(self) -> None:
        with timing.search_source("api"), self.assertRaises(SearchError):
            search(SearchRequest(text="", mode="bm25"))
        row = SearchTiming.objects.get()
        self.assertEqual(
            (row.source, row.mode, row.ok, row.error), ("api", "bm25", False, "SearchError")
        )
        self.assertEqual(row.results, 0)

    def test_sources_follow_the_view(self) -> None:
        self.login(self.teacher)
        text = self.items[0].stem
        self.assertEqual(
            self.client.get(reverse("search:search"), {"text": text, "mode": "hybrid"}).status_code,
            200,
        )
        self.assertEqual(
            self.client.get(reverse("api-search"), {"text": text, "mode": "bm25"}).status_code, 200
        )
        self.client.get(reverse("search:similar", args=[self.items[0].pk]))
        got = list(SearchTiming.objects.order_by("pk").values_list("source", "mode", "ok"))
        default = SearchSettings.load().mode
        self.assertEqual(
            got, [("web", "hybrid", True), ("api", "bm25", True), ("similar", default, True)]
        )

    def test_an_insert_that_fails_does_not_break_the_search(self) -> None:
        table = SearchTiming._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE FUNCTION monitoring_refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'no timings today'; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER monitoring_refuse BEFORE INSERT ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION monitoring_refuse()"
            )
        with (
            timing.search_source("web"),
            self.assertLogs("monitoring.timing", "WARNING") as logged,
        ):
            result = search(SearchRequest(text=self.items[2].stem, mode="dense", k=3))
        self.assertEqual(len(result.hits), 3)
        self.assertIn("no timings today", str(logged.records[0].exc_info[1]))
        # The failed insert was rolled back to its savepoint: the transaction goes on.
        self.assertEqual(Item.objects.count(), len(self.items))
        self.assertFalse(SearchTiming.objects.exists())

    def test_old_timings_are_pruned(self) -> None:
        with timing.search_source("web"):
            for _ in range(3):
                search(SearchRequest(text=self.items[0].stem, mode="bm25", k=2))
        old = list(SearchTiming.objects.values_list("pk", flat=True)[:2])
        SearchTiming.objects.filter(pk__in=old).update(
            created_at=timezone.now() - timing.KEEP - timedelta(minutes=1)
        )
        self.assertEqual(prune_search_timings.apply().get(), 2)
        self.assertEqual(SearchTiming.objects.count(), 1)
