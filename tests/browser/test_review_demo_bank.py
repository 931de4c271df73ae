"""Expert review on the demo bank in a real browser (Debian's chromium), end to end.

The issue's done-when: on the demo bank (`seed_demo`, default seed 42, full size 600, imported
into the test database), embedded with the offline default model, the TF-IDF and planted
ground-truth sets are built with the functions the dashboard uses; the admin draws a campaign of
50 pairs (20 / 15 / 15) from the planted set with two reviewers per pair; two reviewers label all
50 pairs with the keyboard only, each undoing one submission, and disagree on two pairs; the
admin adjudicates both conflicts, reads the agreement figures and the expert set, and starts an
evaluation run on the expert set from the dashboard, which is listed as succeeded with metrics.
Screenshots land in test-artifacts/screenshots/review-demo-*.png.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command

from embeddings import pipeline
from embeddings import services as spaces
from itembank.models import Item, Role
from search import keyword
from search.evaluation import groundtruth
from search.evaluation.models import EvaluationRun, GroundTruthPair
from search.review import sampling, tasks
from search.review.models import Adjudication, Campaign, Label, SamplingJob
from tests.base import make_user
from tests.browser.base import SCREENSHOTS, BrowserTestCase

DEMO_SIZE = 600
SIZES = {"tp": 20, "fp": 15, "fn": 15}
TOTAL = sum(SIZES.values())
KEY = {"duplicate": "1", "similar": "2", "not_similar": "3"}
FIGURE = re.compile(r"-?\d\.\d{3}")


@pytest.mark.browser
class ReviewDemoBankTestCase(BrowserTestCase):
    def setUp(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        make_user("admin", Role.ADMIN)
        make_user("reviewer", Role.REVIEWER)
        make_user("reviewer2", Role.REVIEWER)
        demo = Path(tempfile.mkdtemp(prefix="itembank-demo-"))
        self.addCleanup(shutil.rmtree, demo, ignore_errors=True)
        call_command("seed_demo", output=demo, size=DEMO_SIZE, stdout=io.StringIO())
        self.assertEqual(Item.objects.count(), DEMO_SIZE)
        space = spaces.register_space("offline-default", "default", make_default=True)
        embedded = pipeline.embed_items(space, list(Item.objects.values_list("pk", flat=True)))
        self.assertEqual((embedded.embedded, embedded.failed), (DEMO_SIZE, 0))
        self.tfidf, _ = groundtruth.build_tfidf("tfidf", 5)
        self.planted, _ = groundtruth.build_planted(demo / "ground_truth_planted.json")
        self.assertGreater(self.tfidf.pairs.count(), 0)
        self.assertGreater(self.planted.pairs.count(), 0)

    def login(self, username: str):
        page = self.new_page(timeout_ms=30_000)
        self.log_in(page, username, "/review/")
        return page

    def shot(self, page, name: str) -> None:
        page.wait_for_load_state()  # figures and fonts in the picture
        page.screenshot(path=str(SCREENSHOTS / f"review-demo-{name}.png"), full_page=True)

    def press_and_wait(self, page, *keys: str) -> None:
        """Press `keys`; the last one submits a form, so wait for the next page. Its scripts
        (review.js is deferred) have run by DOMContentLoaded: no need to wait for figures."""
        for key in keys[:-1]:
            page.keyboard.press(key)
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.keyboard.press(keys[-1])

    def start(self, page) -> None:
        """Leave the guidelines with Enter once the start button has its autofocus."""
        page.wait_for_selector("#start-review:focus")
        self.press_and_wait(page, "Enter")
        page.wait_for_selector("#label-form")

    def current_pair(self, page) -> int:
        return int(page.get_attribute("#label-form input[name=pair]", "value"))

    def expected(self, pair_id: int) -> str:
        """What a careful reviewer says: planted duplicates are duplicates, planted variants
        similar, anything else not similar."""
        return self.truth[pair_id]

    def label_all(self, page, *, disagree: set[int] = frozenset(), undo_at: int = 0) -> int:
        """Label every open pair with the keyboard (the expected label, another one on the
        pairs in `disagree`); the `undo_at`-th submission is first made wrong, undone with `u`
        and made again. Returns the number of submissions that stuck."""
        done = 0
        while page.locator("#label-form").count():
            pair = self.current_pair(page)
            label = self.expected(pair)
            if pair in disagree:
                label = "not_similar" if label != "not_similar" else "similar"
            if done == undo_at:
                wrong = "similar" if label != "similar" else "duplicate"
                self.press_and_wait(page, KEY[wrong], "Enter")
                self.assertRegex(page.inner_text("#progress-done"), rf"^\s*{done + 1} / {TOTAL}\b")
                self.press_and_wait(page, "u")
                self.assertEqual(self.current_pair(page), pair)
                self.assertTrue(page.is_checked(f"input[name=label][value={wrong}]"))
                self.undone.append(pair)
                keys = [KEY[label], "g", "3" if label == "duplicate" else "2"]
            else:
                keys = [KEY[label]]
            self.press_and_wait(page, *keys, "Enter")
            done += 1
        page.wait_for_selector("#queue-done")
        return done

    def test_review_on_the_demo_bank(self) -> None:
        # The admin draws 20 / 15 / 15 pairs from the planted set, two reviewers per pair.
        admin = self.login("admin")
        admin.click("#new-campaign")
        admin.fill("#id_name", "데모 문항은행 전문가 검증")
        admin.fill("#id_guidelines", "같은 문항을 다시 쓴 것은 '중복', 숫자만 다르면 '유사'.")
        admin.select_option("#id_gt_set", label="planted")
        for stratum, n in SIZES.items():
            admin.fill(f"#id_{stratum}", str(n))
        admin.fill("#id_reviewers_per_pair", "2")
        self.shot(admin, "01-new-campaign")
        # The sample is drawn in the background (issue 10): the page follows the job until the
        # worker — here the test, as a worker would — has created the campaign.
        with mock.patch.object(tasks.sample_campaign, "apply_async") as queued:
            admin.click("#create-campaign")
            admin.wait_for_url("**/review/sampling/*/")
        job = SamplingJob.objects.get()
        queued.assert_called_once_with(args=[job.pk], queue="default", retry=False)
        sampling.run_sampling_job(job.pk)
        admin.wait_for_selector(f"#sampling-job-{job.pk} a.btn-primary", timeout=60_000)
        admin.click(f"#sampling-job-{job.pk} a.btn-primary")
        admin.wait_for_url("**/agreement/")
        campaign = Campaign.objects.get()
        self.assertEqual(campaign.pairs.count(), TOTAL)
        self.assertEqual(
            {s: campaign.pairs.filter(stratum=s).count() for s in SIZES},
            SIZES,
        )
        relevance = {
            (q, r): g
            for q, r, g in self.planted.pairs.values_list("query_id", "relevant_id", "relevance")
        }
        self.truth = {}
        for pk, q, c in campaign.pairs.values_list("pk", "query_id", "candidate_id"):
            grade = relevance.get((q, c))
            self.truth[pk] = {None: "not_similar", 1: "similar", 2: "duplicate"}[grade]
        self.assertGreater(len(set(self.truth.values())), 1)
        self.undone = []

        # Reviewer A: guidelines, then all 50 pairs with the keyboard; undoes the first.
        one = self.login("reviewer")
        one.click(f"a[href='/review/{campaign.pk}/']")
        self.start(one)
        self.shot(one, "02-first-pair")
        self.assertEqual(self.label_all(one, undo_at=0), TOTAL)
        self.shot(one, "03-done")

        # Reviewer B: disagrees on the first two pairs it meets, undoes its sixth submission.
        two = self.login("reviewer2")
        two.goto(f"{self.live_server_url}/review/{campaign.pk}/")
        self.start(two)
        first_two = set(campaign.pairs.order_by("position").values_list("pk", flat=True)[:2])
        self.assertEqual(self.label_all(two, disagree=first_two, undo_at=5), TOTAL)
        self.assertEqual(len(self.undone), 2)
        submitted = Label.objects.filter(pair__campaign=campaign, status="submitted")
        self.assertEqual(submitted.count(), 2 * TOTAL)
        for pair in self.undone:
            self.assertEqual(submitted.filter(pair_id=pair).count(), 2)

        # The admin adjudicates both conflicts with the keyboard, siding with the planted truth.
        admin.goto(f"{self.live_server_url}/review/{campaign.pk}/adjudicate/")
        decided = 0
        while admin.locator("#adjudicate-form").count():
            self.assertEqual(admin.locator("#reviewer-labels tbody tr").count(), 2)
            if not decided:
                self.shot(admin, "04-adjudicate")
            pair = int(admin.get_attribute("#adjudicate-form", "action").rstrip("/").split("/")[-1])
            self.press_and_wait(admin, KEY[self.expected(pair)], "Enter")
            decided += 1
        admin.wait_for_selector("#no-conflicts")
        self.assertEqual(decided, 2)
        self.assertEqual(Adjudication.objects.filter(pair__campaign=campaign).count(), 2)

        # Agreement figures (κ, α) and the pairs written into the expert set.
        admin.goto(f"{self.live_server_url}/review/{campaign.pk}/agreement/")
        for row in ("#fig-fleiss", "#fig-alpha", "#fig-cohen"):
            self.assertRegex(admin.inner_text(row), FIGURE)
        self.assertIn("reviewer · reviewer2", admin.inner_text("#cohen-table"))
        self.assertEqual(admin.locator("#expert-pairs tbody tr").count(), TOTAL)
        positives = sum(1 for label in self.truth.values() if label != "not_similar")
        expert = groundtruth.expert_set()
        self.assertEqual(GroundTruthPair.objects.filter(gt_set=expert).count(), positives)
        self.shot(admin, "05-agreement")

        # The dashboard: the expert set next to the built ones, agreement with the experts, and
        # a new evaluation run on the expert set.
        from itembank.celery import app

        eager = app.conf.task_always_eager
        app.conf.task_always_eager = True
        self.addCleanup(setattr, app.conf, "task_always_eager", eager)
        admin.goto(f"{self.live_server_url}/evaluation/")
        sets = {
            row.locator("td").nth(0).inner_text().split("\n")[0]: row.locator("td").nth(3)
            for row in admin.locator("#gt-sets tbody tr").all()
        }
        self.assertEqual(set(sets), {"expert", "planted", "tfidf"})
        self.assertEqual(int(sets["expert"].inner_text()), positives)
        agreement = admin.inner_text("#agreement table")
        self.assertIn("planted", agreement)
        self.assertIn("tfidf", agreement)
        admin.select_option("#id_run-gt_set", "expert")
        with admin.expect_navigation(timeout=120_000):
            admin.locator("form:has(#id_run-gt_set) button[type=submit]").click()
        run = EvaluationRun.objects.get()
        self.assertEqual((run.gt_set.name, run.status), ("expert", "succeeded"))
        rows = admin.locator("#runs-table tbody tr")
        self.assertEqual(rows.count(), 1)
        self.assertRegex(rows.first.inner_text(), FIGURE)
        self.shot(admin, "06-evaluation")
        with admin.expect_navigation():
            rows.first.locator("a").first.click()
        self.assertIn(run.get_status_display(), admin.inner_text("#run-state"))
        self.assertRegex(admin.inner_text("#run-metrics"), FIGURE)
        self.shot(admin, "07-run")
