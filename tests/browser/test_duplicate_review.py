"""Duplicate review in a real browser (Debian's chromium), keyboard only for the decisions.

An admin logs in through the form, starts a scan from the report and watches its progress until
it has finished, opens the first group (three near-identical 수학 items), opens and closes the
shortcut help, and resolves every pair of the group with the keyboard: `n` (not a duplicate) on
one pair and `d` (duplicate, keep the suggested keeper on the left) on the next, which retires
the third item and closes the group's last pair. A rescan started from the page then finds the
other group again but none of the resolved pairs, and the retired item stays retired.

The scan runs on a stand-in worker thread (the view queues it with `apply_async`), held until the
page has shown it queued, so the progress polling is exercised too. Vectors come from the
hashing test backend (deterministic, torch-free). Screenshots land in
test-artifacts/screenshots/dupes-*.png.
"""

from __future__ import annotations

import datetime as dt
import threading
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from embeddings import pipeline
from itembank.models import Item, ItemStatus, Role
from search.duplicates import scan as scanning
from search.duplicates.models import DuplicateCandidate, DuplicateGroup, DuplicateScan, PairDecision
from search.models import SearchSettings
from tests.base import PASSWORD, make_item, make_user
from tests.browser.base import SCREENSHOTS, BrowserTestCase
from tests.embeddings.hashing_backend import make_space

SQUARE = (
    "다음 그림과 같이 한 변의 길이가 $6\\,\\mathrm{cm}$ 인 정사각형 ABCD 에서 점 E 는 변 BC 의"
    " 중점이고 점 F 는 변 CD 위의 점이다. 선분 AE 와 선분 BF 가 서로 수직일 때 삼각형 ECF 의"
    " 넓이를 구하시오. 단, 풀이 과정을 자세히 쓰고 답의 단위를 함께 쓰시오. 계산 과정에서"
    " 피타고라스 정리와 닮음을 이용할 수 있다."
)
LEAF = (
    "식물의 광합성에 필요한 물질과 광합성으로 만들어지는 물질을 각각 두 가지씩 쓰고, 광합성이"
    " 주로 일어나는 잎의 세포 소기관의 이름을 쓰시오. 단, 실험 과정에서 빛의 세기와 온도는"
    " 일정하게 유지하였다고 가정한다."
)


class StandInWorker:
    """Takes the scan the view queues (`apply_async`) and runs it in a thread once released,
    as the Celery worker would; the page meanwhile shows the scan queued."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.threads: list[threading.Thread] = []

    def apply_async(self, args, **kwargs) -> None:
        thread = threading.Thread(target=self.run, args=(args[0],), daemon=True)
        self.threads.append(thread)
        thread.start()

    def run(self, scan_id: int) -> None:
        try:
            if self.release.wait(60):
                scanning.run_scan(scan_id)
        finally:
            connection.close()

    def finish(self) -> None:
        self.release.set()
        for thread in self.threads:
            thread.join(60)
        self.threads.clear()
        self.release.clear()


@pytest.mark.browser
class DuplicateReviewWalkTestCase(BrowserTestCase):
    def setUp(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.admin = make_user("admin", Role.ADMIN)
        self.space = make_space("hash64", 64, make_default=True)
        thresholds = SearchSettings.load()
        thresholds.duplicate_threshold_default = 0.9
        thresholds.duplicate_thresholds = {}
        thresholds.save()

        def square(external_id: str, stem: str, created: dt.date) -> Item:
            item = make_item(
                external_id,
                stem=stem,
                item_type="short_answer",
                choices=[],
                answer="$\\frac{9}{2}\\,\\mathrm{cm}^2$",
                status=ItemStatus.ACTIVE,
                school_level="중등",
                grade=2,
                unit="도형의 닮음",
            )
            when = timezone.make_aware(dt.datetime.combine(created, dt.time(9)))
            Item.objects.filter(pk=item.pk).update(created_at=when)
            return item

        # Three near-identical items, the oldest first (the suggested keeper is the older one).
        self.a = square("MATH-8-001001", SQUARE, dt.date(2023, 3, 2))
        self.b = square(
            "MATH-8-001002", SQUARE.replace("구하시오.", "구하여라."), dt.date(2023, 9, 1)
        )
        self.c = square(
            "MATH-8-001003",
            SQUARE.replace("구하시오.", "구하여라.").replace("자세히", "간단히"),
            dt.date(2024, 5, 20),
        )
        # Another group, left open: the rescan must still find it.
        self.leaf = [
            make_item(
                f"SCI-7-00200{n}",
                subject="과학",
                stem=stem,
                item_type="short_answer",
                choices=[],
                answer="엽록체",
                status=ItemStatus.ACTIVE,
                school_level="중등",
                grade=1,
                unit="식물과 에너지",
            )
            for n, stem in enumerate([LEAF, LEAF.replace("쓰시오.", "적으시오.")], start=1)
        ]
        make_item("KOR-3-000401", subject="국어", stem="다음 글의 중심 생각으로 알맞은 것은?")
        result = pipeline.embed_items(self.space, list(Item.objects.values_list("pk", flat=True)))
        self.assertEqual(result.failed, 0, result.errors)

        self.worker = StandInWorker()
        queue = mock.patch(
            "search.duplicates.tasks.run_scan.apply_async", side_effect=self.worker.apply_async
        )
        queue.start()
        self.addCleanup(queue.stop)
        self.addCleanup(self.worker.finish)

        self.context = self.browser.new_context(
            locale="ko-KR", viewport={"width": 1280, "height": 900}
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def tearDown(self) -> None:
        self.context.close()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"dupes-{name}.png"), full_page=True)

    def pair(self, x: Item, y: Item) -> tuple[int, int]:
        return (min(x.pk, y.pk), max(x.pk, y.pk))

    def sides(self) -> tuple[str, str]:
        page = self.page
        return (
            page.inner_text("#current-pair .dup-side-left .ext-id"),
            page.inner_text("#current-pair .dup-side-right .ext-id"),
        )

    def press(self, key: str) -> None:
        with self.page.expect_navigation():
            self.page.keyboard.press(key)
        self.page.wait_for_load_state()

    def run_scan_from_the_page(self, name: str) -> DuplicateScan:
        """Click "start a scan", see it queued, let the worker run it and wait for the progress
        to show it finished; then reload the report, which lists the new scan's groups."""
        page = self.page
        with page.expect_navigation():
            page.click("#start-scan")
        scan = DuplicateScan.objects.order_by("-id").first()
        section = f"#duplicate-scan-{scan.pk}"
        page.wait_for_selector(f"{section} progress")
        self.assertTrue(page.is_disabled("#start-scan"))  # one scan at a time
        self.assertIn("대기 중", page.inner_text(section))
        self.shot(f"{name}-progress")
        self.worker.finish()
        page.wait_for_selector(f"{section}.dup-scan-succeeded", timeout=60_000)
        self.assertEqual(page.locator(f"{section} progress").count(), 0)
        scan.refresh_from_db()
        self.assertEqual(scan.status, DuplicateScan.Status.SUCCEEDED, scan.error)
        self.assertIn(f"{scan.pair_count}", page.inner_text(section))
        self.shot(f"{name}-finished")
        page.reload()
        page.wait_for_selector("#scan-summary")
        self.assertIn(f"#{scan.pk}", page.inner_text("#scan-summary"))
        self.assertFalse(page.is_disabled("#start-scan"))
        return scan

    def assert_no_sideways_scroll(self) -> None:
        """Long stems are cut with an ellipsis, never widening the page."""
        widths = self.page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        self.assertLessEqual(widths[0], widths[1])

    def report_groups(self) -> list[list[str]]:
        rows = self.page.locator(".dup-group-row")
        return [
            rows.nth(n).locator(".dup-preview .ext-id").all_inner_texts()
            for n in range(rows.count())
        ]

    def test_admin_resolves_a_group_and_a_rescan_does_not_bring_it_back(self) -> None:
        page = self.page
        a, b, c = self.a, self.b, self.c
        math_ids = {a.external_id, b.external_id, c.external_id}

        # Log in through the form; the report has no scan yet.
        page.goto(f"{self.live_server_url}/duplicates/")
        self.assertIn("/accounts/login/", page.url)
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit].btn-primary")
        page.wait_for_url("**/duplicates/")
        self.assertEqual(
            page.get_attribute(".mainnav a[href='/duplicates/']", "aria-current"), "page"
        )
        self.assertIn("아직 끝난 검사가 없습니다", page.inner_text("main"))
        self.shot("01-no-scan")

        # 1. The first scan, started from the page: two groups, the 수학 trio first.
        first = self.run_scan_from_the_page("02-scan")
        self.assertEqual(first.group_count, 2)
        self.assertEqual(
            sorted(self.report_groups(), key=len, reverse=True),
            [
                [a.external_id, b.external_id, c.external_id],
                [self.leaf[0].external_id, self.leaf[1].external_id],
            ],
        )
        self.assertEqual(set(self.report_groups()[0]), math_ids)
        page.wait_for_selector(".dup-group-row .dup-stem .katex")
        self.shot("03-report")

        # 2. Open the first group: the highest pair, the older item on the left as keeper.
        with page.expect_navigation():
            page.locator(".dup-group-link").first.click()
        group = DuplicateGroup.objects.get(scan=first, subject="수학")
        self.assertIn(f"/duplicates/groups/{group.pk}/", page.url)
        self.assertEqual(page.locator("#group-pairs tbody tr").count(), 3)
        page.wait_for_selector("#current-pair .dup-side-left .stem .katex")
        self.assertEqual(self.sides(), (a.external_id, b.external_id))
        self.assertEqual(page.locator("#current-pair .dup-side-left .badge-keeper").count(), 1)
        self.assert_no_sideways_scroll()
        self.shot("04-group")

        # The shortcut help opens with ?, ignores decision keys while open, and closes with Esc.
        help_box = page.locator("#shortcut-help")
        self.assertTrue(help_box.is_hidden())
        page.keyboard.press("?")
        help_box.wait_for(state="visible")
        self.assertIn("중복", help_box.inner_text())
        self.shot("05-shortcuts")
        page.keyboard.press("n")
        page.wait_for_timeout(300)
        self.assertFalse(PairDecision.objects.exists())
        page.keyboard.press("Escape")
        help_box.wait_for(state="hidden")

        # 3. n: the first pair is not a duplicate; the page moves to the next open pair.
        self.press("n")
        self.assertEqual(
            PairDecision.objects.get(item_a=min(a.pk, b.pk)).kind,
            PairDecision.Kind.NOT_DUPLICATE,
        )
        page.wait_for_selector(".message-success")
        self.assertIn(f"/duplicates/groups/{group.pk}/", page.url)
        self.assertEqual(self.sides(), (b.external_id, c.external_id))
        self.shot("06-second-pair")

        # 4. d: a duplicate, keeping the left (suggested) item; the right one is retired, which
        # closes the group's last pair too, so the page moves on to the next group.
        self.press("d")
        decision = PairDecision.objects.get(kind=PairDecision.Kind.DUPLICATE)
        self.assertEqual((decision.item_a_id, decision.item_b_id), self.pair(b, c))
        self.assertEqual((decision.keeper_id, decision.retired_item_id), (b.pk, c.pk))
        self.assertEqual(decision.decided_by, self.admin)
        c.refresh_from_db()
        self.assertEqual(c.status, ItemStatus.RETIRED)
        self.assertEqual(PairDecision.objects.count(), 2)
        leaf_group = DuplicateGroup.objects.get(scan=first, subject="과학")
        self.assertIn(f"/duplicates/groups/{leaf_group.pk}/", page.url)
        page.wait_for_selector(".message-success")
        self.assert_no_sideways_scroll()
        self.shot("07-next-group")

        # The resolved group is off the report; the other one is still there.
        page.goto(f"{self.live_server_url}/duplicates/")
        self.assertEqual(
            self.report_groups(), [[self.leaf[0].external_id, self.leaf[1].external_id]]
        )
        # Its page says it is reviewed and lists the two verdicts and the retired item.
        page.goto(f"{self.live_server_url}/duplicates/groups/{group.pk}/")
        page.wait_for_selector(".message-info")
        pairs = page.inner_text("#group-pairs")
        self.assertIn("중복 아님", pairs)
        self.assertIn("폐기된 문항 있음", pairs)  # the third pair: its item was retired
        self.assertNotIn("미검토", pairs)  # nothing open
        self.assertIn("폐기", page.inner_text(".dup-members"))

        # 5. A rescan from the page: the 과학 pair comes back, none of the resolved pairs do.
        page.goto(f"{self.live_server_url}/duplicates/")
        second = self.run_scan_from_the_page("08-rescan")
        self.assertNotEqual(second.pk, first.pk)
        self.assertEqual(second.group_count, 1)
        self.assertEqual(
            self.report_groups(), [[self.leaf[0].external_id, self.leaf[1].external_id]]
        )
        self.assertNotIn(c.external_id, page.inner_text("main"))
        rescanned = set(
            DuplicateCandidate.objects.filter(scan=second).values_list("item_a", "item_b")
        )
        self.assertEqual(rescanned, {self.pair(*self.leaf)})
        for x, y in [(a, b), (a, c), (b, c)]:
            self.assertNotIn(self.pair(x, y), rescanned)
        for rescanned_group in DuplicateGroup.objects.filter(scan=second):
            self.assertFalse(set(rescanned_group.item_ids) & {a.pk, b.pk, c.pk})
        self.shot("09-rescan-report")

        # The retired item stays retired, on its page as well.
        c.refresh_from_db()
        self.assertEqual(c.status, ItemStatus.RETIRED)
        a.refresh_from_db()
        b.refresh_from_db()
        self.assertEqual((a.status, b.status), (ItemStatus.ACTIVE, ItemStatus.ACTIVE))
        page.goto(f"{self.live_server_url}/items/{c.pk}/")
        page.wait_for_selector(".status-retired")
        self.shot("10-retired-item")

        self.assertEqual(self.errors, [])
        own = urlsplit(self.live_server_url).netloc
        foreign = [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != own
        ]
        self.assertEqual(foreign, [])
