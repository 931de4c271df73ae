"""One group at a time, side by side: decisions with keyboard shortcuts, position in the URL,
the bulk action behind a confirmation, undo, and bad input."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from django.urls import reverse

from itembank.models import ItemStatus
from search.duplicates import services
from search.duplicates.models import DuplicateGroup, DuplicateScan, PairDecision
from tests.duplicates.base import DuplicatesTestCase

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
Kind = PairDecision.Kind


class GroupPageTests(DuplicatesTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.math = self.near("M", 3)
        self.science = self.near("S", 2, subject="과학")
        self.embed()
        self.scan_ = self.scan()
        groups = DuplicateGroup.objects.filter(scan=self.scan_)
        self.group = groups.get(subject="수학")
        self.other = groups.get(subject="과학")

    def url(self, group: DuplicateGroup, **query) -> str:
        base = reverse("duplicate-group", args=[group.pk])
        return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def test_side_by_side_with_shortcuts(self) -> None:
        self.login(self.reviewer)
        response = self.client.get(self.url(self.group, order="subject"), **EN)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Group 2 of 2")  # 과학 comes first by subject
        self.assertContains(response, 'class="card dup-side dup-side-left', count=1)
        self.assertContains(response, 'class="card dup-side dup-side-right', count=1)
        self.assertContains(response, 'class="stem" data-math', count=2)
        current = response.context["current"]
        self.assertContains(response, f"{current.score:.4f}")
        for key in ("d", "D", "v", "e", "n", "k", "?"):
            self.assertContains(response, f'data-shortcut="{key}"')
        self.assertNotContains(response, 'data-shortcut="j"')  # the last group
        self.assertContains(response, 'id="shortcut-help"')
        self.assertContains(response, "js/duplicate-review.js")
        self.assertContains(response, "Suggested keeper")
        # The oldest active item of the pair is suggested and shown on the left.
        left, right = response.context["left"], response.context["right"]
        self.assertLess(left.created_at, right.created_at)
        # Reviewers cannot retire: the duplicate buttons are disabled.
        self.assertContains(response, 'data-shortcut="d" disabled')

    def test_decision_moves_to_the_next_pair_then_the_next_group(self) -> None:
        self.login(self.reviewer)
        pairs = [c for c in services.group_candidates(self.group) if c.is_open]
        self.assertEqual(len(pairs), 3)
        decide = reverse("duplicate-decide", args=[self.group.pk]) + "?order=-score"
        response = self.client.post(
            decide, {"pair": pairs[0].pk, "action": "not_duplicate", "note": "다름"}
        )
        target = urlparse(response["Location"])
        self.assertEqual(target.path, reverse("duplicate-group", args=[self.group.pk]))
        query = parse_qs(target.query)
        self.assertEqual(query["order"], ["-score"])
        self.assertEqual(query["pair"], [str(pairs[1].pk)])
        decision = services.decision_for(pairs[0].item_a_id, pairs[0].item_b_id)
        self.assertEqual((decision.kind, decision.note), (Kind.NOT_DUPLICATE, "다름"))
        self.client.post(decide, {"pair": pairs[1].pk, "action": "variant"})
        response = self.client.post(decide, {"pair": pairs[2].pk, "action": "enemy"})
        target = urlparse(response["Location"])
        self.assertEqual(target.path, reverse("duplicate-group", args=[self.other.pk]))
        self.assertEqual(list(services.open_groups(self.scan_)), [self.other])

    def test_admin_marks_a_duplicate_and_a_rescan_does_not_bring_it_back(self) -> None:
        self.login(self.admin)
        x, y = self.science
        pair = self.other.candidates.get()
        response = self.client.post(
            reverse("duplicate-decide", args=[self.other.pk]),
            {"pair": pair.pk, "action": f"duplicate:{x.pk}"},
            **EN,
        )
        self.assertEqual(response.status_code, 302)
        y.refresh_from_db()
        self.assertEqual(y.status, ItemStatus.RETIRED)
        rescan = self.scan()
        self.assertNotIn(self.pair(x, y), self.pairs(rescan))
        self.assertFalse(DuplicateGroup.objects.filter(scan=rescan, subject="과학").exists())

    def test_reviewer_cannot_retire_or_change_a_decision(self) -> None:
        self.login(self.reviewer)
        pair = self.other.candidates.get()
        decide = reverse("duplicate-decide", args=[self.other.pk])
        response = self.client.post(
            decide, {"pair": pair.pk, "action": f"duplicate:{pair.item_a_id}"}, **EN
        )
        self.assertContains(response, "Only administrators can mark duplicates", status_code=400)
        self.assertFalse(PairDecision.objects.exists())
        services.record_decision(pair.item_a_id, pair.item_b_id, Kind.ENEMY, user=self.admin)
        response = self.client.post(decide, {"pair": pair.pk, "action": "variant"}, **EN)
        self.assertContains(response, "only administrators can change it", status_code=400)
        self.assertEqual(PairDecision.objects.get().kind, Kind.ENEMY)

    def test_bad_input(self) -> None:
        self.login(self.admin)
        decide = reverse("duplicate-decide", args=[self.group.pk])
        pair = self.group.candidates.first()
        foreign = self.other.candidates.get()
        cases = [
            ({"pair": pair.pk, "action": "maybe"}, "Unknown decision"),
            ({"pair": pair.pk, "action": "duplicate:"}, "which of the two items to keep"),
            ({"pair": pair.pk, "action": f"duplicate:{foreign.item_a_id}"}, "one of the two"),
            ({"pair": foreign.pk, "action": "variant"}, "Choose a pair of this group"),
            ({"pair": "x", "action": "variant"}, "Choose a pair of this group"),
            ({"action": "variant"}, "Choose a pair of this group"),
        ]
        for data, message in cases:
            with self.subTest(message=message):
                response = self.client.post(decide, data, **EN)
                self.assertContains(response, message, status_code=400)
        self.assertFalse(PairDecision.objects.exists())
        self.assertEqual(self.client.get(reverse("duplicate-group", args=[99999])).status_code, 404)
        self.assertEqual(
            self.client.post(reverse("duplicate-decide", args=[99999])).status_code, 404
        )
        self.assertEqual(self.client.get(decide).status_code, 405)

    def test_groups_of_unfinished_scans_are_not_shown(self) -> None:
        DuplicateScan.objects.filter(pk=self.scan_.pk).update(status=DuplicateScan.Status.RUNNING)
        self.login(self.admin)
        self.assertEqual(self.client.get(self.url(self.group)).status_code, 404)

    def test_teacher_is_refused(self) -> None:
        self.login(self.teacher)
        self.assertEqual(self.client.get(self.url(self.group)).status_code, 403)
        pair = self.group.candidates.first()
        response = self.client.post(
            reverse("duplicate-decide", args=[self.group.pk]),
            {"pair": pair.pk, "action": "variant"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(PairDecision.objects.exists())

    def test_bulk_not_duplicates_needs_a_confirmation(self) -> None:
        self.login(self.reviewer)
        url = reverse("duplicate-not-duplicates", args=[self.group.pk])
        response = self.client.get(url, **EN)
        self.assertContains(response, "3 pairs of group")
        self.assertContains(response, 'id="confirm-bulk"')
        self.client.post(url)  # no confirmation: nothing happens
        self.assertFalse(PairDecision.objects.exists())
        response = self.client.post(url, {"confirm": "yes"})
        self.assertEqual(PairDecision.objects.filter(kind=Kind.NOT_DUPLICATE).count(), 3)
        self.assertEqual(urlparse(response["Location"]).path, self.url(self.other))
        self.assertNotIn(self.group, services.open_groups(self.scan_))

    def test_admin_undoes_a_decision(self) -> None:
        x, y = self.science
        decision = services.record_decision(x, y, Kind.DUPLICATE, user=self.admin, keeper=x)
        self.login(self.reviewer)
        undo = reverse("duplicate-undo", args=[decision.pk])
        self.assertEqual(self.client.post(undo).status_code, 403)
        self.login(self.admin)
        page = self.client.get(self.url(self.other), **EN)
        self.assertContains(page, "Every pair of this group has a decision")
        self.assertContains(page, undo)
        response = self.client.post(undo, {"next": self.url(self.other)})
        self.assertRedirects(response, self.url(self.other))
        y.refresh_from_db()
        self.assertEqual(y.status, ItemStatus.ACTIVE)
        self.assertFalse(PairDecision.objects.exists())
        response = self.client.post(undo)
        self.assertEqual(response.status_code, 404)
