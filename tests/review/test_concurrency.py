"""Submitting at the same moment: the same reviewer twice (a double click) and two reviewers on
the same pair, on real concurrent connections."""

from __future__ import annotations

import threading

from django.db import connection, connections
from django.test import TransactionTestCase

from itembank.models import Role
from search.evaluation.groundtruth import expert_set
from search.evaluation.models import GroundTruthPair
from search.review import sampling, services
from search.review.models import Label
from tests.base import make_item, make_user


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []
    results: list = [None] * len(calls)

    def runner(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


class ConcurrentSubmitTestCase(TransactionTestCase):
    def setUp(self) -> None:
        self.reviewer = make_user("reviewer", Role.REVIEWER)
        self.reviewer2 = make_user("reviewer2", Role.REVIEWER)
        a = make_item("C-1", stem="이차방정식의 근의 합")
        b = make_item("C-2", stem="이차방정식의 근의 곱")
        self.campaign = sampling.create_campaign(
            "race", [sampling.Sample(a, b, "tp", 0.9, True)], reviewers_per_pair=2
        )
        self.pair = self.campaign.pairs.get()

    def submit(self, user, label):
        return lambda: services.submit(self.campaign, self.pair, user, label=label)

    def test_double_submit_by_one_reviewer(self) -> None:
        for _round in range(3):
            _results, errors = run_together(
                self.submit(self.reviewer, "similar"), self.submit(self.reviewer, "similar")
            )
            self.assertEqual(errors, [])
        self.assertEqual(Label.objects.filter(pair=self.pair).count(), 1)
        self.assertEqual(Label.objects.get().status, "submitted")

    def test_double_submit_through_the_page(self) -> None:
        from django.test import Client

        clients = []
        for _ in range(2):
            client = Client()
            client.force_login(self.reviewer)
            clients.append(client)
        url = f"/review/{self.campaign.pk}/label/"
        data = {"pair": self.pair.pk, "label": "duplicate", "action": "submit"}
        results, errors = run_together(*(lambda c=c: c.post(url, data) for c in clients))
        self.assertEqual(errors, [])
        self.assertEqual([r.status_code for r in results], [302, 302])
        self.assertEqual(Label.objects.filter(pair=self.pair).count(), 1)

    def test_two_reviewers_at_once_both_count_and_feed_back_once(self) -> None:
        _results, errors = run_together(
            self.submit(self.reviewer, "duplicate"), self.submit(self.reviewer2, "duplicate")
        )
        self.assertEqual(errors, [])
        self.assertEqual(
            sorted(Label.objects.values_list("reviewer__username", flat=True)),
            ["reviewer", "reviewer2"],
        )
        self.pair.refresh_from_db()
        self.assertEqual(self.pair.applied_label, "duplicate")
        self.assertEqual(
            GroundTruthPair.objects.filter(gt_set=expert_set())
            .values_list("relevance", flat=True)
            .get(),
            3,
        )
        connection.close()
