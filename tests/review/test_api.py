"""The review API per endpoint and role."""

from __future__ import annotations

import json

from rest_framework.test import APIClient

from search.review import services
from search.review.models import Adjudication, Label
from tests.review.base import ReviewTestCase


class APITestCase(ReviewTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.c = self.campaign(n=2, pairs=[(0, 1), (3, 4)])
        self.api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        self.base = f"/api/review/campaigns/{self.c.pk}"

    def as_(self, user) -> APIClient:
        self.api.force_authenticate(user)
        return self.api

    def test_roles(self) -> None:
        reviewer_gets = ["/api/review/campaigns/", f"{self.base}/next/", f"{self.base}/labels/"]
        admin_gets = [f"{self.base}/conflicts/", f"{self.base}/agreement/", f"{self.base}/export/"]
        self.assertEqual(self.api.get(reviewer_gets[0]).status_code, 401)
        for url in reviewer_gets + admin_gets:
            self.assertEqual(self.as_(self.teacher).get(url).status_code, 403, url)
        for url in reviewer_gets:
            self.assertIn(self.as_(self.reviewer).get(url).status_code, (200, 204), url)
        for url in admin_gets:
            self.assertEqual(self.as_(self.reviewer).get(url).status_code, 403, url)
            self.assertEqual(self.as_(self.admin).get(url).status_code, 200, url)
        self.assertEqual(
            self.as_(self.reviewer).post(f"{self.base}/adjudications/", {}).status_code, 403
        )
        self.assertEqual(self.as_(self.teacher).post(f"{self.base}/undo/").status_code, 403)

    def test_campaigns_with_progress(self) -> None:
        data = self.as_(self.reviewer).get("/api/review/campaigns/").json()
        self.assertEqual(data[0]["name"], "c1")
        self.assertEqual(data[0]["progress"]["remaining"], 2)
        self.assertEqual(data[0]["pair_count"], 2)

    def test_next_hides_score_and_gt_and_others_labels(self) -> None:
        services.submit(self.c, self.c.pairs.get(position=1), self.reviewer2, label="duplicate")
        data = self.as_(self.reviewer).get(f"{self.base}/next/").json()
        self.assertEqual(data["position"], 1)
        self.assertEqual(data["query"]["external_id"], "R-0000")
        self.assertNotIn("similarity", data)
        self.assertNotIn("in_ground_truth", data)
        self.assertNotIn("duplicate", json.dumps(data))
        self.assertEqual(data["mine"]["status"], "draft")
        self.c.show_model_score = True
        self.c.save()
        data = self.as_(self.reviewer).get(f"{self.base}/next/").json()
        self.assertIn("similarity", data)

    def test_submit_undo_mine(self) -> None:
        api = self.as_(self.reviewer)
        pair = api.get(f"{self.base}/next/").json()["pair"]
        r = api.post(
            f"{self.base}/labels/", {"pair": pair, "label": "similar", "grade": 2}, format="json"
        )
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(r.json()["status"], "submitted")
        r = api.post(f"{self.base}/labels/", {"pair": pair, "label": "duplicate"}, format="json")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(Label.objects.filter(pair_id=pair).count(), 1)
        mine = api.get(f"{self.base}/labels/").json()
        self.assertEqual([(m["pair"], m["label"]) for m in mine], [(pair, "duplicate")])
        r = api.post(f"{self.base}/undo/")
        self.assertEqual((r.json()["pair"], r.json()["status"]), (pair, "draft"))
        self.assertEqual(api.post(f"{self.base}/undo/").status_code, 404)
        r = api.post(f"{self.base}/labels/", {"pair": pair, "action": "skip"}, format="json")
        self.assertEqual(r.json()["status"], "skipped")

    def test_bad_label_input(self) -> None:
        api = self.as_(self.reviewer)
        other = self.campaign("other", pairs=[(5, 6)]).pairs.get().pk
        pair = self.c.pairs.get(position=1).pk
        for body, field in [
            ({"pair": pair, "label": "same"}, "label"),
            ({"pair": pair}, "label"),
            ({"pair": pair, "label": "similar", "grade": 4}, "grade"),
            ({"pair": pair, "label": "similar", "grade": -1}, "grade"),
            ({"pair": pair, "label": "similar", "note": "x" * 2001}, "note"),
            ({"pair": other, "label": "similar"}, "pair"),
            ({"pair": 10**8, "label": "similar"}, "pair"),
            ({"pair": "x", "label": "similar"}, "pair"),
            ({"label": "similar"}, "pair"),
        ]:
            with self.subTest(body=body):
                r = api.post(f"{self.base}/labels/", body, format="json")
                self.assertEqual(r.status_code, 400)
                self.assertIn(field, r.json())
        self.assertFalse(Label.objects.exists())
        self.assertEqual(api.get("/api/review/campaigns/999999/next/").status_code, 404)

    def test_next_is_204_when_done(self) -> None:
        api = self.as_(self.reviewer)
        for pair in self.c.pairs.all():
            services.submit(self.c, pair, self.reviewer, label="similar")
        self.assertEqual(api.get(f"{self.base}/next/").status_code, 204)

    def test_admin_conflicts_adjudicate_export(self) -> None:
        pair = self.c.pairs.get(position=2)
        services.submit(self.c, pair, self.reviewer, label="similar")
        services.submit(self.c, pair, self.reviewer2, label="not_similar")
        api = self.as_(self.admin)
        conflicts = api.get(f"{self.base}/conflicts/").json()
        self.assertEqual([c["id"] for c in conflicts], [pair.pk])
        self.assertEqual(len(conflicts[0]["labels"]), 2)
        r = api.post(
            f"{self.base}/adjudications/",
            {"pair": pair.pk, "label": "similar", "grade": 9},
            format="json",
        )
        self.assertEqual(r.status_code, 400)
        r = api.post(
            f"{self.base}/adjudications/", {"pair": pair.pk, "label": "similar"}, format="json"
        )
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["expert_ground_truth"], "applied")
        self.items[4].delete()
        r = api.post(
            f"{self.base}/adjudications/", {"pair": pair.pk, "label": "duplicate"}, format="json"
        )
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["expert_ground_truth"], "deleted")
        self.assertIn("R-0004", r.json()["message"])
        self.assertEqual(Adjudication.objects.get().label, "duplicate")
        lines = api.get(f"{self.base}/export/?format=jsonl").content.decode().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertIn("reviewer,", api.get(f"{self.base}/export/?format=csv").content.decode())
        self.assertEqual(len(api.get(f"{self.base}/export/?format=json").json()), 2)
        self.assertEqual(api.get(f"{self.base}/export/?format=xml").status_code, 400)
        agreement = api.get(f"{self.base}/agreement/").json()
        self.assertEqual(agreement["multiply_labelled"], 1)

    def test_schema_lists_the_endpoints(self) -> None:
        schema = self.as_(self.admin).get("/api/schema/?format=json").json()
        for path in (
            "/api/review/campaigns/",
            "/api/review/campaigns/{id}/next/",
            "/api/review/campaigns/{id}/adjudications/",
        ):
            self.assertIn(path, schema["paths"])
