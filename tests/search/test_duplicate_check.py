"""The duplicate check while authoring (`search.authoring`, the item create/edit views and the
form's check endpoint `/search/check/`): exact duplicates by normalised text and figure hash,
flagged apart from model-based candidates above the subject's thresholds; a warning before
saving; "save anyway" records the chosen relation with `record_decision`; cancel writes nothing.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation

from embeddings import pipeline
from itembank.content import item_text
from itembank.models import Item, ItemRevision, ItemStatus
from search import authoring, keyword
from search.duplicates.exact import normalise
from search.duplicates.models import PairDecision
from search.duplicates.services import record_decision
from search.engine import SearchRequest, search
from search.models import SearchSettings
from tests.base import make_item, png_bytes
from tests.embeddings.hashing_backend import make_space
from tests.itembank.ui_base import UITestCase, upload

CREATE = reverse("item-create")
STEM = "이차방정식 $x^2-5x+6=0$ 의 두 근의 합을 구하시오."
CHOICES = ["$1$", "$5$", "$6$", "$7$"]


def form_data(**overrides) -> dict:
    data = {
        "external_id": "MATH-9-NEW",
        "status": "active",
        "subject": "수학",
        "school_level": "중등",
        "grade": "3",
        "unit": "이차방정식",
        "item_type": "multiple_choice",
        "stem": STEM,
        "choices": CHOICES,
        "answer": "2",
        "check_duplicates": "1",
    }
    data.update(overrides)
    return data


class NormalisationTestCase(UITestCase):
    """What counts as the same text, and the SQL pre-filter that must never miss it."""

    SAME = [
        (
            "이차방정식 $x^{2}-5x+6=0$ 의 두 근의 합은?",
            "이차방정식  $x^2 - 5x + 6 = 0$의 두 근의 합은",
        ),
        ("$\\frac{1}{2}$ 보다 큰 수는?", "\\(\\dfrac{1}{2}\\) 보다 큰 수는 ?"),
        ("$\\left( a+b \\right)^{2}$ 을 전개하시오.", "$(a+b)^2$을 전개하시오"),
        ("Ｘ의 값은 １２이다.", "x의 값은 12이다"),
    ]
    DIFFERENT = [
        ("$3-2$ 의 값은?", "$32$ 의 값은?"),
        ("$x^2$ 의 값", "$x^3$ 의 값"),
        ("1.5 보다 큰 수", "15 보다 큰 수"),
    ]

    def test_same_and_different(self) -> None:
        for a, b in self.SAME:
            with self.subTest(a=a, b=b):
                self.assertEqual(normalise(a), normalise(b))
                self.assertEqual(authoring.stem_key(a), authoring.stem_key(b))
                self.assertEqual(authoring.numbers(a, []), authoring.numbers(b, []))
        for a, b in self.DIFFERENT:
            with self.subTest(a=a, b=b):
                self.assertTrue(
                    normalise(a) != normalise(b)
                    or authoring.numbers(a, []) != authoring.numbers(b, [])
                )

    def test_different_texts_are_not_exact_duplicates(self) -> None:
        for n, (a, b) in enumerate(self.DIFFERENT):
            make_item(f"DIFF-{n}", stem=a, choices=[])
            with self.subTest(a=a, b=b):
                self.assertEqual(authoring.exact_text_matches(b, []), [])

    def test_database_pre_filter_finds_every_spelling(self) -> None:
        for n, (a, b) in enumerate(self.SAME):
            stored = make_item(f"SAME-{n}", stem=a, choices=["$1$", "$2$"])
            with self.subTest(a=a):
                found = authoring.exact_text_matches(b, ["$2$", "$1$"])  # choices in any order
                self.assertEqual(found, [stored])
                self.assertEqual(authoring.exact_text_matches(b, ["$1$", "$3$"]), [])
                self.assertEqual(
                    authoring.exact_text_matches(b, ["$1$", "$2$"], exclude_id=stored.pk), []
                )


class CheckTestCase(UITestCase):
    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.original = make_item(
            "MATH-9-000001",
            stem="이차방정식 $x^{2}-5x+6=0$ 의 두 근의 합을 구하시오",
            choices=["$5$", "$1$", "$6$", "$7$"],
            unit="이차방정식",
        )
        self.variant = make_item(
            "MATH-9-000002",
            stem="이차방정식 $x^2-7x+12=0$ 의 두 근의 합을 구하시오.",
            choices=CHOICES,
            unit="이차방정식",
        )
        self.figure = png_bytes("#f59e0b", size=(120, 80))
        self.with_figure = make_item(
            "MATH-9-000003", stem="그래프를 보고 기울기를 구하시오.", images=[self.figure]
        )
        self.unrelated = make_item(
            "KOR-1-000001",
            subject="국어",
            stem="다음 글의 주제로 알맞은 것은?",
            choices=["가", "나"],
        )
        self.bank = [self.original, self.variant, self.with_figure, self.unrelated]
        self.login(self.teacher)

    def embed(self) -> None:
        space = make_space(
            "hash256", dimensions=256, modalities=["text", "image"], make_default=True
        )
        pipeline.embed_items(space, [i.pk for i in Item.objects.all()])

    def draft(self, **kwargs) -> authoring.Draft:
        values = {"stem": STEM, "choices": CHOICES, "subject": "수학"}
        values.update(kwargs)
        return authoring.Draft(**values)

    def variant_score(self) -> float:
        result = search(
            SearchRequest(text=item_text(STEM, CHOICES), mode="dense", k=10, rerank=False)
        )
        return next(h.dense for h in result.hits if h.item == self.variant)

    def set_thresholds(self, duplicate: float, variant: float, subject: str | None = None) -> None:
        settings = SearchSettings.load()
        if subject:
            settings.duplicate_thresholds = {subject: duplicate}
            settings.variant_thresholds = {subject: variant}
        else:
            settings.duplicate_threshold_default = duplicate
            settings.variant_threshold_default = variant
        settings.save()

    # The check itself -------------------------------------------------------------------------

    def test_exact_text_without_any_model(self) -> None:
        check = authoring.check_draft(self.draft())
        self.assertEqual([c.item for c in check.exact], [self.original])
        self.assertTrue(check.exact[0].exact_text)
        self.assertFalse(check.exact[0].exact_image)
        self.assertEqual(check.exact[0].suggested, "duplicate")
        self.assertEqual(check.similar, [])
        self.assertTrue(check.error)  # no embedding space: said, not fatal
        self.assertTrue(check.has_warnings)

    def test_exact_figure_by_sha256(self) -> None:
        check = authoring.check_draft(self.draft(stem="전혀 다른 질문", images=[self.figure]))
        self.assertEqual([c.item for c in check.exact], [self.with_figure])
        self.assertTrue(check.exact[0].exact_image)
        self.assertFalse(check.exact[0].exact_text)
        self.assertEqual(check.exact[0].suggested, "enemy")  # same figure, other question

    def test_model_candidates_are_apart_from_exact_ones(self) -> None:
        self.embed()
        score = self.variant_score()
        self.set_thresholds(duplicate=0.999, variant=score - 0.01)
        check = authoring.check_draft(self.draft())
        self.assertEqual(check.error, "")
        self.assertEqual([c.item for c in check.exact], [self.original])
        self.assertIsNotNone(check.exact[0].score)  # the model saw it too
        self.assertIn(self.variant, [c.item for c in check.similar])
        self.assertNotIn(self.original, [c.item for c in check.similar])
        candidate = next(c for c in check.similar if c.item == self.variant)
        self.assertEqual(candidate.level, "variant")
        self.assertAlmostEqual(candidate.score, score, places=4)
        self.assertNotIn(self.unrelated, [c.item for c in check.candidates])  # other subject

        self.set_thresholds(duplicate=score - 0.01, variant=score - 0.02)
        candidate = next(
            c for c in authoring.check_draft(self.draft()).similar if c.item == self.variant
        )
        self.assertEqual(candidate.level, "duplicate")

        self.set_thresholds(duplicate=1.0, variant=min(1.0, score + 0.01))
        self.assertNotIn(
            self.variant, [c.item for c in authoring.check_draft(self.draft()).similar]
        )

    def test_thresholds_are_per_subject(self) -> None:
        self.embed()
        score = self.variant_score()
        self.set_thresholds(duplicate=1.0, variant=min(1.0, score + 0.01), subject="수학")
        check = authoring.check_draft(self.draft())
        self.assertEqual(check.variant_threshold, min(1.0, score + 0.01))
        self.assertNotIn(self.variant, [c.item for c in check.similar])
        self.set_thresholds(duplicate=1.0, variant=min(1.0, score + 0.01), subject="국어")
        self.assertIn(self.variant, [c.item for c in authoring.check_draft(self.draft()).similar])

    def test_pairs_already_decided_are_not_shown_again(self) -> None:
        record_decision(self.original, self.variant, "variant", user=self.admin)
        edited = self.draft(stem=self.original.stem + " (수정)", item_id=self.variant.pk)
        check = authoring.check_draft(
            self.draft(
                stem=self.original.stem,
                choices=["$5$", "$1$", "$6$", "$7$"],
                item_id=self.variant.pk,
            )
        )
        self.assertEqual(check.exact, [])
        self.assertFalse(authoring.check_draft(edited).has_warnings)

    # The create view ---------------------------------------------------------------------------

    def post(self, url: str = CREATE, **data):
        with translation.override("en"):
            return self.client.post(url, form_data(**data), HTTP_ACCEPT_LANGUAGE="en")

    def test_form_asks_for_the_check(self) -> None:
        r = self.client.get(CREATE)
        self.assertContains(r, 'name="check_duplicates" value="1"')
        self.assertContains(r, f'data-duplicate-check="{reverse("search:check")}"')
        self.assertContains(r, "js/duplicate-check.js")

    def test_warns_before_saving_and_saves_nothing(self) -> None:
        self.embed()
        self.set_thresholds(duplicate=0.999, variant=self.variant_score() - 0.01)
        before = (Item.objects.count(), ItemRevision.objects.count())
        r = self.post()
        self.assertEqual(r.status_code, 200)
        self.assertTemplateUsed(r, "itembank/item_form.html")
        self.assertEqual((Item.objects.count(), ItemRevision.objects.count()), before)
        self.assertFalse(PairDecision.objects.exists())
        check = r.context["duplicates"]
        self.assertEqual([c.item for c in check.exact], [self.original])
        self.assertIn(self.variant, [c.item for c in check.similar])
        html = r.content.decode()
        self.assertIn('id="duplicate-warning"', html)
        exact_part = html[html.index('id="dup-exact"') : html.index('id="dup-similar"')]
        similar_part = html[html.index('id="dup-similar"') :]
        self.assertIn("MATH-9-000001", exact_part)
        self.assertIn("Same text", exact_part)
        self.assertNotIn("MATH-9-000002", exact_part)
        self.assertIn("MATH-9-000002", similar_part[: similar_part.index("dup-actions")])
        self.assertIn('name="duplicate_confirmed"', html)
        self.assertIn(f'name="relation_{self.original.pk}"', html)
        self.assertIn(
            f'href="{reverse("item-detail", args=[self.original.pk])}" target="_blank"', html
        )
        # Cancel leads back to the list; following it writes nothing.
        self.assertIn(f'id="cancel-save" href="{reverse("item-list")}"', html)
        self.client.get(reverse("item-list"))
        self.assertEqual((Item.objects.count(), ItemRevision.objects.count()), before)
        # The typed values are still in the form.
        self.assertContains(r, 'value="MATH-9-NEW"')

    def test_chosen_files_must_be_chosen_again_after_a_server_warning(self) -> None:
        note = "choose them again before saving"
        r = self.post(stem="전혀 다른 질문", new_images=[upload("same.png", self.figure)])
        self.assertEqual([c.item for c in r.context["duplicates"].exact], [self.with_figure])
        self.assertContains(r, note)
        self.assertFalse(Item.objects.filter(external_id="MATH-9-NEW").exists())
        # The form's live check keeps the files in the browser: no such note there.
        data = form_data(stem="전혀 다른 질문")
        data["new_images"] = [upload("same.png", self.figure)]
        with translation.override("en"):
            r = self.client.post(reverse("search:check"), data, HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(r["X-Duplicate-Warnings"], "1")
        self.assertNotContains(r, note)

    def test_save_anyway_records_the_relations(self) -> None:
        r = self.post(
            duplicate_confirmed="1",
            duplicate_candidates=authoring.sign_offer(
                self.teacher, None, [self.original.pk, self.variant.pk, 999999]
            ),
            **{
                f"relation_{self.original.pk}": "not_duplicate",
                f"relation_{self.variant.pk}": "variant",
                "relation_999999": "variant",
            },
        )
        item = Item.objects.get(external_id="MATH-9-NEW")
        self.assertRedirects(r, item.get_absolute_url(), fetch_redirect_response=False)
        decisions = {
            (d.item_a_id, d.item_b_id): (d.kind, d.decided_by) for d in PairDecision.objects.all()
        }
        self.assertEqual(
            decisions,
            {
                tuple(sorted((item.pk, self.original.pk))): ("not_duplicate", self.teacher),
                tuple(sorted((item.pk, self.variant.pk))): ("variant", self.teacher),
            },
        )
        page = self.client.get(r.url, HTTP_ACCEPT_LANGUAGE="en")
        self.assertIn(
            "The relations to 2 similar items were recorded.",
            [str(m) for m in page.context["messages"]],
        )

    def test_save_anyway_as_a_duplicate_retires_the_new_item(self) -> None:
        # Recording a duplicate retires an item: an admin's verdict (issue 15).
        self.login(self.admin)
        self.post(
            duplicate_confirmed="1",
            duplicate_candidates=authoring.sign_offer(self.admin, None, [self.original.pk]),
            **{f"relation_{self.original.pk}": "duplicate"},
        )
        item = Item.objects.get(external_id="MATH-9-NEW")
        decision = PairDecision.objects.get()
        self.assertEqual((decision.kind, decision.keeper_id), ("duplicate", self.original.pk))
        item.refresh_from_db()
        self.original.refresh_from_db()
        self.assertEqual(item.status, ItemStatus.RETIRED)
        self.assertEqual(self.original.status, ItemStatus.ACTIVE)

    def test_only_admins_may_keep_the_new_item_over_the_existing_one(self) -> None:
        r = self.post(
            duplicate_confirmed="1",
            duplicate_candidates=authoring.sign_offer(self.teacher, None, [self.original.pk]),
            **{f"relation_{self.original.pk}": "duplicate_keep_new"},
        )
        self.assertEqual(r.status_code, 302)
        self.assertFalse(PairDecision.objects.exists())
        self.original.refresh_from_db()
        self.assertEqual(self.original.status, ItemStatus.ACTIVE)
        self.login(self.admin)
        self.post(
            external_id="MATH-9-NEW2",
            duplicate_confirmed="1",
            duplicate_candidates=authoring.sign_offer(self.admin, None, [self.original.pk]),
            **{f"relation_{self.original.pk}": "duplicate_keep_new"},
        )
        self.original.refresh_from_db()
        self.assertEqual(self.original.status, ItemStatus.RETIRED)

    def test_no_warning_saves_at_once(self) -> None:
        r = self.post(stem="완전히 새로운 문항입니다.", choices=["가", "나"])
        self.assertEqual(r.status_code, 302)
        self.assertTrue(Item.objects.filter(external_id="MATH-9-NEW").exists())

    def test_form_errors_come_before_the_check(self) -> None:
        r = self.post(external_id="")
        self.assertEqual(r.status_code, 200)
        self.assertIsNone(r.context.get("duplicates"))
        self.assertTrue(r.context["form"].errors)

    # The edit view ---------------------------------------------------------------------------

    def test_edit_checks_only_changed_content(self) -> None:
        url = reverse("item-edit", args=[self.variant.pk])
        data = {
            "external_id": self.variant.external_id,
            "status": "active",
            "subject": "수학",
            "item_type": "multiple_choice",
            "stem": self.variant.stem,
            "choices": self.variant.choices,
            "answer": "2",
            "unit": "새 단원",
            "version": self.variant.version,
            "check_duplicates": "1",
        }
        # Metadata only: saved without a check.
        r = self.client.post(url, data)
        self.assertEqual(r.status_code, 302)
        self.variant.refresh_from_db()
        self.assertEqual(self.variant.unit, "새 단원")
        # The text made into a copy of another item: warned, not saved.
        data.update(
            stem=STEM,
            choices=["$7$", "$6$", "$5$", "$1$"],
            version=self.variant.version,
        )
        r = self.client.post(url, data)
        self.assertEqual(r.status_code, 200)
        self.assertEqual([c.item for c in r.context["duplicates"].exact], [self.original])
        self.assertContains(
            r, f'id="cancel-save" href="{reverse("item-detail", args=[self.variant.pk])}"'
        )
        self.variant.refresh_from_db()
        self.assertNotEqual(self.variant.stem, STEM)

    # The check endpoint of the form's script -----------------------------------------------------

    def test_check_endpoint(self) -> None:
        url = reverse("search:check")
        data = form_data()
        data["new_images"] = [upload("same.png", self.figure)]
        r = self.client.post(url, data)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r["X-Duplicate-Warnings"], "2")
        self.assertEqual(
            {c.item for c in r.context["duplicates"].exact}, {self.original, self.with_figure}
        )
        self.assertContains(r, 'data-warnings="2"')
        self.assertFalse(Item.objects.filter(external_id="MATH-9-NEW").exists())
        # Nothing to warn about, or a form with errors: an empty answer (the real submit decides).
        r = self.client.post(url, form_data(stem="새 문항", choices=["가", "나"]))
        self.assertEqual(r["X-Duplicate-Warnings"], "0")
        self.assertEqual(r.content.strip(), b"")
        r = self.client.post(url, form_data(external_id="bad id!"))
        self.assertEqual(r["X-Duplicate-Warnings"], "0")
        # Editing: the item itself is never its own duplicate.
        r = self.client.post(
            reverse("search:check-edit", args=[self.original.pk]),
            form_data(stem=self.original.stem, choices=self.original.choices),
        )
        self.assertEqual(r["X-Duplicate-Warnings"], "0")
        self.assertEqual(self.client.get(url).status_code, 405)

    def test_check_endpoint_roles(self) -> None:
        url = reverse("search:check")
        self.client.logout()
        r = self.client.post(url, form_data())
        self.assertEqual(r.status_code, 302)
        self.assertIn(reverse("login"), r["Location"])
        self.login(self.reviewer)
        self.assertEqual(self.client.post(url, form_data()).status_code, 403)
        self.login(self.admin)
        self.assertEqual(self.client.post(url, form_data())["X-Duplicate-Warnings"], "1")
        r = self.client.post(reverse("search:check-edit", args=[999_999]), form_data())
        self.assertEqual(r.status_code, 404)
