"""Expert review in a real browser (Debian's chromium), keyboard only for the labelling.

A small bank embedded with the offline default model and a ground-truth set: an admin draws a
campaign with two reviewers per pair; two reviewers label every pair with the keyboard (one of
them undoes a submission and changes it); the admin adjudicates the conflict, reads the
agreement figures and the pairs written into the expert ground truth, and evaluates the search
against the expert set on the evaluation dashboard. Screenshots land in
test-artifacts/screenshots/review-*.png.
"""

from __future__ import annotations

from unittest import mock

import pytest

from embeddings import pipeline
from embeddings import services as spaces
from itembank.models import Role
from search import keyword
from search.evaluation.groundtruth import expert_set
from search.evaluation.models import EvaluationRun, GroundTruthPair, GroundTruthSet
from search.review import sampling, tasks
from search.review.models import Adjudication, Campaign, Label, SamplingJob
from tests.base import make_item, make_user, png_bytes
from tests.browser.base import SCREENSHOTS, BrowserTestCase

STEMS = [
    "이차방정식 $x^2-5x+6=0$ 의 두 근의 합을 구하시오.",
    "이차방정식 $x^2-7x+12=0$ 의 두 근의 합을 구하시오.",
    "이차방정식 $x^2-9x+20=0$ 의 두 근의 곱을 구하시오.",
    "그림의 삼각형에서 $\\angle A = 60^\\circ$ 일 때 변 BC 의 길이를 구하시오.",
    "그림의 삼각형에서 $\\angle D = 30^\\circ$ 일 때 변 EF 의 길이를 구하시오.",
    "분수 $\\frac{3}{4}+\\frac{1}{4}$ 의 값은?",
    "분수 $\\frac{2}{5}+\\frac{1}{5}$ 의 값은?",
    "광합성이 일어나는 세포 소기관은 무엇인가?",
]
GT = {0: [1, 2], 3: [4], 5: [6, 7]}


@pytest.mark.browser
class ReviewWalkTestCase(BrowserTestCase):
    def setUp(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        make_user("admin", Role.ADMIN)
        make_user("reviewer", Role.REVIEWER)
        make_user("reviewer2", Role.REVIEWER)
        self.items = [
            make_item(
                f"MATH-9-{i:06d}",
                stem=stem,
                choices=["$1$", "$2$", "$\\frac{1}{2}$", "$5$"],
                images=[png_bytes("#3b82f6", size=(120, 80))] if i in (3, 4) else None,
            )
            for i, stem in enumerate(STEMS)
        ]
        space = spaces.register_space("offline-default", "default", make_default=True)
        pipeline.embed_items(space, [i.pk for i in self.items])
        self.gt = GroundTruthSet.objects.create(name="gt-browser", kind="other")
        GroundTruthPair.objects.bulk_create(
            GroundTruthPair(gt_set=self.gt, query=self.items[q], relevant=self.items[r])
            for q, rel in GT.items()
            for r in rel
        )

    def login(self, username: str):
        page = self.new_page(timeout_ms=20_000)
        self.log_in(page, username, "/review/")
        return page

    def shot(self, page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"review-{name}.png"), full_page=True)

    def press_and_wait(self, page, *keys: str) -> None:
        for key in keys[:-1]:
            page.keyboard.press(key)
        with page.expect_navigation():
            page.keyboard.press(keys[-1])

    def label_everything(self, page, first: list[str], rest: list[str]) -> int:
        """Label the open pairs with the keyboard: `first` keys on the first, `rest` after."""
        count = 0
        while page.locator("#label-form").count():
            page.wait_for_selector("#query-item .stem .katex")
            keys = first if count == 0 else rest
            self.press_and_wait(page, *keys, "Enter")
            count += 1
        page.wait_for_selector("#queue-done")
        return count

    def test_review_walk(self) -> None:
        # The admin draws a campaign: two reviewers per pair, guidelines first.
        admin = self.login("admin")
        admin.click("#new-campaign")
        admin.fill("#id_name", "전문가 검증 1차")
        admin.fill("#id_guidelines", "숫자만 다른 문항은 '유사'로 표시합니다.")
        admin.select_option("#id_gt_set", label="gt-browser")
        admin.fill("#id_tp", "2")
        admin.fill("#id_fp", "2")
        admin.fill("#id_fn", "1")
        admin.fill("#id_reviewers_per_pair", "2")
        self.shot(admin, "01-new-campaign")
        # The sample is drawn in the background (issue 10): the page shows the job's progress
        # until the worker — here the test, as a worker would — has created the campaign.
        with mock.patch.object(tasks.sample_campaign, "apply_async") as queued:
            admin.click("#create-campaign")
            admin.wait_for_url("**/review/sampling/*/")
        job = SamplingJob.objects.get()
        queued.assert_called_once_with(args=[job.pk], queue="default", retry=False)
        admin.wait_for_selector(f"#sampling-job-{job.pk} progress")
        self.shot(admin, "01-sampling")
        sampling.run_sampling_job(job.pk)
        admin.wait_for_selector(f"#sampling-job-{job.pk} a.btn-primary")  # once it succeeded
        self.shot(admin, "01-sampled")
        admin.click(f"#sampling-job-{job.pk} a.btn-primary")
        admin.wait_for_url("**/agreement/")
        campaign = Campaign.objects.get()
        total = campaign.pairs.count()
        self.assertGreaterEqual(total, 3)
        self.assertEqual(campaign.reviewers_per_pair, 2)

        # Reviewer 1: guidelines, then keyboard only; an undo changes the first label.
        one = self.login("reviewer")
        one.click(f"a[href='/review/{campaign.pk}/']")
        one.wait_for_selector("#start-review")
        self.assertIn("숫자만 다른 문항", one.inner_text("#guidelines"))
        self.shot(one, "02-guidelines")
        self.press_and_wait(one, "Enter")
        one.wait_for_selector("#query-item .stem .katex")
        self.assertNotIn("$", one.inner_text("#query-item .stem"))
        self.assertEqual(one.locator("#pair-hints").count(), 0)  # no model score, no GT label
        one.keyboard.press("?")
        one.wait_for_selector("#shortcut-help:not([hidden])")
        self.shot(one, "03-shortcuts")
        one.keyboard.press("Escape")
        one.keyboard.press("2")
        one.keyboard.press("g")
        one.keyboard.press("2")
        self.assertTrue(one.is_checked("input[name=label][value=similar]"))
        self.assertTrue(one.is_checked("input[name=grade][value='2']"))
        self.shot(one, "04-labelled")
        first_pair = one.get_attribute("input[name=pair]", "value")
        with one.expect_navigation():
            one.keyboard.press("Enter")
        self.assertIn(f"1 / {total}", one.inner_text("#progress-done"))
        self.assertNotEqual(one.get_attribute("input[name=pair]", "value"), first_pair)
        self.press_and_wait(one, "u")  # undo: back to the first pair, label still there
        self.assertEqual(one.get_attribute("input[name=pair]", "value"), first_pair)
        self.assertTrue(one.is_checked("input[name=label][value=similar]"))
        self.shot(one, "05-undone")
        done = self.label_everything(one, first=["1", "g", "3"], rest=["2"])
        self.assertEqual(done, total)
        self.shot(one, "06-done")
        mine = Label.objects.filter(reviewer__username="reviewer", status="submitted")
        self.assertEqual(mine.count(), total)
        self.assertEqual(mine.get(pair_id=int(first_pair)).label, "duplicate")
        self.assertEqual(mine.get(pair_id=int(first_pair)).grade, 3)

        # Reviewer 2 disagrees on the first pair only.
        two = self.login("reviewer2")
        two.goto(f"{self.live_server_url}/review/{campaign.pk}/")
        self.press_and_wait(two, "Enter")
        self.assertEqual(self.label_everything(two, first=["3"], rest=["2"]), total)
        self.assertEqual(Label.objects.filter(status="submitted").count(), 2 * total)

        # The admin adjudicates the conflict with the keyboard.
        admin.goto(f"{self.live_server_url}/review/{campaign.pk}/adjudicate/")
        admin.wait_for_selector("#reviewer-labels")
        self.assertEqual(admin.locator("#reviewer-labels tbody tr").count(), 2)
        self.shot(admin, "07-adjudicate")
        self.press_and_wait(admin, "2", "Enter")
        admin.wait_for_selector("#no-conflicts")
        self.assertEqual(Adjudication.objects.get().label, "similar")

        # Agreement figures and what went into the expert ground truth.
        admin.goto(f"{self.live_server_url}/review/{campaign.pk}/agreement/")
        admin.wait_for_selector("#fig-alpha")
        self.assertRegex(admin.inner_text("#fig-alpha"), r"-?\d\.\d{3}")
        self.assertIn("reviewer · reviewer2", admin.inner_text("#cohen-table"))
        self.assertEqual(admin.locator("#expert-pairs tbody tr").count(), total)
        self.assertEqual(GroundTruthPair.objects.filter(gt_set=expert_set()).count(), total)
        self.shot(admin, "08-agreement")

        # Evaluate the search against the expert set on the evaluation dashboard.
        from itembank.celery import app

        eager = app.conf.task_always_eager
        app.conf.task_always_eager = True
        self.addCleanup(setattr, app.conf, "task_always_eager", eager)
        admin.goto(f"{self.live_server_url}/evaluation/")
        admin.wait_for_selector("#agreement")
        admin.select_option("#id_run-gt_set", "expert")
        with admin.expect_navigation():
            admin.locator("form:has(#id_run-gt_set) button[type=submit]").click()
        run = EvaluationRun.objects.get()
        self.assertEqual((run.gt_set.name, run.status), ("expert", "succeeded"))
        admin.wait_for_selector("#runs-table")
        self.shot(admin, "09-evaluation")
