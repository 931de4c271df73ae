"""Keyword tokens stored per item and kept current; the in-process BM25 index over them."""

from __future__ import annotations

from unittest import mock

from django.test import TransactionTestCase, override_settings

from itembank.celery import app
from itembank.content import item_text
from itembank.services import save_item
from search import keyword, receivers
from search.analysis import tokenize
from search.engine import SearchRequest, search
from search.models import ItemKeywords
from search.tasks import keywords_sweep, refresh_keywords
from tests.base import BaseTestCase, make_item


class KeywordTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        receivers.broker_pause_reset()
        self.addCleanup(receivers.broker_pause_reset)

    def test_refresh_stores_tokens_once(self) -> None:
        item = make_item(stem="광합성에 필요한 물질은?", choices=["빛", "물"])
        self.assertEqual(keyword.refresh([item.pk]), 1)
        row = ItemKeywords.objects.get(item=item)
        self.assertEqual(row.tokens, tokenize(item_text(item.stem, item.choices)))
        self.assertIn("광합성", row.tokens)
        self.assertEqual(row.content_hash, item.content_hash)
        self.assertEqual(keyword.refresh([item.pk]), 0)  # already current
        item.stem = "세포막의 기능은?"
        save_item(item)
        self.assertEqual([i.pk for i in keyword.stale_items()], [item.pk])
        self.assertEqual(refresh_keywords([item.pk]), 1)
        self.assertIn("세포막", ItemKeywords.objects.get(item=item).tokens)

    def test_search_sees_edits_without_waiting_for_the_task(self) -> None:
        item = make_item(stem="광합성에 필요한 물질은?", choices=[])
        make_item("OTHER-1", stem="이차방정식의 근", choices=[])
        result = search(SearchRequest(text="광합성", mode="bm25"))
        self.assertEqual([h.item for h in result.hits], [item])
        item.stem = "세포막을 통한 물질 이동"
        save_item(item)
        self.assertEqual(search(SearchRequest(text="광합성", mode="bm25")).hits, [])
        self.assertEqual(
            [h.item for h in search(SearchRequest(text="세포막", mode="bm25")).hits], [item]
        )
        item.delete()
        self.assertEqual(search(SearchRequest(text="세포막", mode="bm25")).hits, [])

    def test_index_is_rebuilt_only_when_tokens_change(self) -> None:
        make_item(stem="광합성", choices=[])
        first = keyword.get_index()
        self.assertIs(keyword.get_index(), first)
        item = make_item("MATH-2-000002", stem="삼각형의 넓이", choices=[])
        second = keyword.get_index()
        self.assertIsNot(second, first)
        self.assertEqual(len(second), 2)
        item.status = "retired"  # not content: tokens stay, index stays
        save_item(item)
        self.assertIs(keyword.get_index(), second)

    def test_filters_and_exclusions_restrict_results(self) -> None:
        a = make_item("A-1", stem="광합성 실험", choices=[], subject="과학")
        b = make_item("B-1", stem="광합성 문제", choices=[], subject="과학", grade=3)
        index = keyword.get_index()
        tokens = keyword.query_tokens("광합성")
        self.assertEqual({h.item_id for h in index.top(tokens, 10)}, {a.pk, b.pk})
        self.assertEqual([h.item_id for h in index.top(tokens, 10, allowed={b.pk})], [b.pk])
        self.assertEqual([h.item_id for h in index.top(tokens, 10, exclude=[a.pk])], [b.pk])
        result = search(SearchRequest(text="광합성", mode="bm25", filters={"grade": 3}))
        self.assertEqual([h.item for h in result.hits], [b])

    def test_receiver_queues_a_task_after_commit(self) -> None:
        app.conf.task_always_eager = True
        self.addCleanup(setattr, app.conf, "task_always_eager", False)
        with self.captureOnCommitCallbacks(execute=True):
            item = make_item(stem="광합성", choices=[])
        self.assertTrue(ItemKeywords.objects.filter(item=item, content_hash=item.content_hash))

    def test_save_succeeds_when_the_broker_is_down(self) -> None:
        old = app.conf.broker_url
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        self.addCleanup(setattr, app.conf, "broker_url", old)
        with mock.patch("embeddings.receivers.queue_embedding"):
            with self.assertLogs("search.receivers", "WARNING"):
                with self.captureOnCommitCallbacks(execute=True):
                    item = make_item(stem="광합성", choices=[])
        self.assertFalse(ItemKeywords.objects.filter(item=item).exists())
        self.assertEqual(keywords_sweep(), 1)
        self.assertTrue(ItemKeywords.objects.filter(item=item).exists())

    def test_empty_bank(self) -> None:
        self.assertEqual(search(SearchRequest(text="광합성", mode="bm25")).hits, [])


class IndexCheckTestCase(TransactionTestCase):
    """Outside a transaction the versions are checked at most every
    ITEMBANK_KEYWORD_CHECK_SECONDS, and at once after a save in this process."""

    def setUp(self) -> None:
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        receivers.broker_pause_reset()
        self.addCleanup(receivers.broker_pause_reset)

    def test_checks_are_throttled_but_own_saves_are_seen_at_once(self) -> None:
        first = make_item(external_id="KW-1", stem="삼각형의 넓이를 구하시오.")
        with override_settings(ITEMBANK_KEYWORD_CHECK_SECONDS=60):
            self.assertIn(first.pk, keyword.get_index().position)
            with self.assertNumQueries(0):
                keyword.get_index()
            second = make_item(external_id="KW-2", stem="원의 둘레를 구하시오.")
            self.assertIn(second.pk, keyword.get_index().position)
        with override_settings(ITEMBANK_KEYWORD_CHECK_SECONDS=0), self.assertNumQueries(2):
            keyword.get_index()  # the two version aggregates; nothing changed
