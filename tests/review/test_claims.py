"""A pair's slots hold on submit too: a reviewer cannot label a pair whose `reviewers_per_pair`
slots other reviewers hold (submitted or claimed), by the page or the API."""

from __future__ import annotations

from django.urls import reverse

from itembank.models import Role
from search.review import services
from search.review.models import Label
from tests.base import make_user
from tests.review.base import ReviewTestCase

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
FULL = "Other reviewers already hold every slot of this pair"


class ClaimOnSubmitTests(ReviewTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.c = self.campaign(n=1)
        self.pair = self.c.pairs.get(position=1)

    def submitted(self) -> set[str]:
        return set(
            Label.objects.filter(pair=self.pair, status="submitted").values_list(
                "reviewer__username", flat=True
            )
        )

    def test_a_pair_claimed_by_someone_else(self) -> None:
        self.client.force_login(self.reviewer2)
        self.client.get(reverse("review-queue", args=[self.c.pk]) + "?start=1")  # claims it
        self.assertTrue(Label.objects.filter(pair=self.pair, reviewer=self.reviewer2).exists())
        self.login(self.reviewer)
        data = {"pair": self.pair.pk, "action": "submit", "label": "similar"}
        r = self.client.post(reverse("review-label", args=[self.c.pk]), data, follow=True, **EN)
        self.assertIn(FULL, " ".join(str(m) for m in r.context["messages"]))
        r = self.client.post(
            reverse("review-api-labels", args=[self.c.pk]),
            {"pair": self.pair.pk, "label": "similar"},
            content_type="application/json",
            **EN,
        )
        self.assertEqual(r.status_code, 400)
        self.assertIn(FULL, r.content.decode())
        self.assertEqual(self.submitted(), set())
        # The claimant still submits.
        services.submit(self.c, self.pair, self.reviewer2, label="similar")
        self.assertEqual(self.submitted(), {"reviewer2"})

    def test_never_more_labels_than_reviewers_per_pair(self) -> None:
        services.submit(self.c, self.pair, self.reviewer2, label="similar")
        third = make_user("reviewer3", Role.REVIEWER)
        with self.assertRaisesMessage(services.ReviewError, FULL):
            services.submit(self.c, self.pair, third, label="not_similar")
        # Submitting one's own label again stays harmless.
        services.submit(self.c, self.pair, self.reviewer2, label="not_similar")
        self.assertEqual(self.submitted(), {"reviewer2"})
