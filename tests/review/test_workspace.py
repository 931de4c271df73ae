"""The labelling page helps the reviewer (issue 14): what differs between the two items is
highlighted with the compare page's diff, the guidelines are open on the reviewer's first pair
only, and the draft count says what a draft is."""

from __future__ import annotations

import re

from django.urls import reverse

from search.review import services
from tests.review.base import ReviewTestCase

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
GUIDELINES_OPEN = re.compile(r'<details class="card rv-guidelines" id="guidelines"\s+open>')


class WorkspaceTestCase(ReviewTestCase):
    def queue(self, campaign, **params) -> str:
        url = reverse("review-queue", args=[campaign.pk])
        response = self.client.get(url, {"start": 1, **params}, **EN)
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_the_differences_are_marked_as_on_the_compare_page(self) -> None:
        # R-0000 "x^2-5x+6=0 ... 합" against R-0001 "x^2-7x+12=0 ... 합": two numbers changed.
        campaign = self.campaign(pairs=[(0, 1)])
        self.login(self.reviewer)
        page = self.queue(campaign)
        self.assertIn('id="pair-diff"', page)
        left = page[page.index('id="query-stem-diff"') : page.index('id="candidate-stem-diff"')]
        right = page[page.index('id="candidate-stem-diff"') :]
        # The compare page's token diff and its classes (templates/search/_diff.html).
        self.assertIn('<span class="d-replace d-number">5</span>', left)
        self.assertIn('<span class="d-replace d-number">7</span>', right)
        self.assertIn('<span class="d-replace d-number">12</span>', right)
        self.assertIn("Numbers changed: 5 → 7, 6 → 12.", page)
        self.assertIn("/static/css/search.css", page)  # the compare page's colours
        compare = reverse("search:compare", args=[self.items[0].pk, self.items[1].pk])
        self.assertIn(f'href="{compare}"', page)

    def test_the_same_text_shows_no_marks(self) -> None:
        self.items[1].stem = self.items[0].stem
        self.items[1].save()
        campaign = self.campaign(pairs=[(0, 1)])
        self.login(self.reviewer)
        page = self.queue(campaign)
        self.assertIn("The question text is the same.", page)
        self.assertNotIn('id="query-stem-diff"', page)
        self.assertNotIn("d-replace", page)

    def test_guidelines_open_on_the_first_pair_only(self) -> None:
        campaign = self.campaign(pairs=[(0, 1), (3, 4)], guidelines="Look at the skill.")
        self.login(self.reviewer)
        self.assertRegex(self.queue(campaign), GUIDELINES_OPEN)
        label = services.open_pair(campaign, self.reviewer)
        services.submit(campaign, label.pair, self.reviewer, label="similar")
        second = self.queue(campaign)
        self.assertIn("Pair 2 of 2", second)
        self.assertIn('id="guidelines"', second)
        self.assertNotRegex(second, GUIDELINES_OPEN)

    def test_the_draft_count_says_what_a_draft_is(self) -> None:
        campaign = self.campaign(pairs=[(0, 1)])
        self.login(self.reviewer)
        page = self.queue(campaign)
        self.assertIn('aria-describedby="draft-help"', page)
        self.assertIn("draft 1", page)
        self.assertIn(
            "A draft is a pair you have opened but not yet submitted or skipped. It stays "
            f"reserved for you for {services.CLAIM_MINUTES} minutes; after that other reviewers "
            "may take it.",
            page,
        )
        korean = self.client.get(
            reverse("review-queue", args=[campaign.pk]), {"start": 1}, HTTP_ACCEPT_LANGUAGE="ko"
        ).content.decode()
        self.assertIn("임시는 열어 보았지만 아직 제출하거나 건너뛰지 않은 쌍입니다", korean)

    def test_the_adjudicator_sees_the_same_marks(self) -> None:
        campaign = self.campaign(n=2, pairs=[(0, 1)])
        pair = campaign.pairs.get()
        for user, value in ((self.reviewer, "similar"), (self.reviewer2, "not_similar")):
            services.open_pair(campaign, user)
            services.submit(campaign, pair, user, label=value)
        self.login(self.admin)
        page = self.client.get(reverse("review-adjudicate", args=[campaign.pk]), **EN)
        self.assertContains(page, 'id="pair-diff"')
        self.assertContains(page, '<span class="d-replace d-number">7</span>')
