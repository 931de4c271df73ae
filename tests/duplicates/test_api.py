"""The duplicate review API: groups, decisions and scans, their roles, bad input, the schema."""

from __future__ import annotations

from unittest import mock

from rest_framework.test import APIClient

from itembank.models import ItemStatus
from search.duplicates import services
from search.duplicates.models import DuplicateGroup, DuplicateScan, PairDecision
from tests.duplicates.base import DuplicatesTestCase

Kind = PairDecision.Kind


class DuplicatesAPITests(DuplicatesTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.math = self.near("M", 3)
        self.science = self.near("S", 2, subject="과학")
        self.embed()
        self.scan_ = self.scan()
        self.group = DuplicateGroup.objects.get(scan=self.scan_, subject="수학")

    def as_(self, user) -> APIClient:
        client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        client.force_authenticate(user)
        return client

    def test_roles_per_endpoint(self) -> None:
        gets = [
            "/api/duplicates/groups/",
            f"/api/duplicates/groups/{self.group.pk}/",
            "/api/duplicates/decisions/",
            "/api/duplicates/scans/",
            f"/api/duplicates/scans/{self.scan_.pk}/",
        ]
        for url in gets:
            with self.subTest(url=url):
                self.assertEqual(APIClient().get(url).status_code, 401)
                self.assertEqual(self.as_(self.teacher).get(url).status_code, 403)
                self.assertEqual(self.as_(self.reviewer).get(url).status_code, 200)
                self.assertEqual(self.as_(self.admin).get(url).status_code, 200)
        a, b = self.science
        body = {"item_a": a.pk, "item_b": b.pk, "kind": "enemy"}
        self.assertEqual(
            self.as_(self.teacher).post("/api/duplicates/decisions/", body).status_code, 403
        )
        with mock.patch("search.duplicates.tasks.run_scan.apply_async"):
            self.assertEqual(
                self.as_(self.reviewer).post("/api/duplicates/scans/").status_code, 403
            )
        self.assertFalse(PairDecision.objects.exists())

    def test_group_list_paginated_ordered_filtered(self) -> None:
        client = self.as_(self.reviewer)
        data = client.get("/api/duplicates/groups/", {"page_size": 1}).json()
        self.assertEqual(data["count"], 2)
        self.assertEqual(len(data["results"]), 1)
        self.assertIsNotNone(data["next"])
        by_subject = client.get("/api/duplicates/groups/", {"ordering": "subject"}).json()
        self.assertEqual([g["subject"] for g in by_subject["results"]], ["과학", "수학"])
        reverse_subject = client.get("/api/duplicates/groups/", {"ordering": "-subject"}).json()
        self.assertEqual([g["subject"] for g in reverse_subject["results"]], ["수학", "과학"])
        only = client.get("/api/duplicates/groups/", {"subject": "과학"}).json()
        self.assertEqual([g["subject"] for g in only["results"]], ["과학"])
        self.assertEqual(
            client.get("/api/duplicates/groups/", {"match": "exact"}).json()["count"], 0
        )
        scores = [g["max_score"] for g in client.get("/api/duplicates/groups/").json()["results"]]
        self.assertEqual(scores, sorted(scores, reverse=True))

    def test_group_list_bad_parameters(self) -> None:
        client = self.as_(self.reviewer)
        for params, field in [
            ({"ordering": "random"}, "ordering"),
            ({"subject": "물리"}, "subject"),
            ({"match": "fuzzy"}, "match"),
            ({"page_size": "0"}, "page_size"),
            ({"colour": "red"}, "colour"),
        ]:
            with self.subTest(params=params):
                response = client.get("/api/duplicates/groups/", params)
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.json())

    def test_group_detail(self) -> None:
        data = self.as_(self.reviewer).get(f"/api/duplicates/groups/{self.group.pk}/").json()
        self.assertEqual(sorted(i["id"] for i in data["items"]), sorted(i.pk for i in self.math))
        self.assertEqual(len(data["candidates"]), 3)
        self.assertTrue(all(c["score"] >= 0.9 and c["open"] for c in data["candidates"]))
        self.assertIn(data["suggested_keeper"], [i.pk for i in self.math])
        self.assertEqual(
            self.as_(self.reviewer).get("/api/duplicates/groups/999999/").status_code, 404
        )
        DuplicateScan.objects.filter(pk=self.scan_.pk).update(status=DuplicateScan.Status.FAILED)
        response = self.as_(self.reviewer).get(f"/api/duplicates/groups/{self.group.pk}/")
        self.assertEqual(response.status_code, 404)

    def test_decisions(self) -> None:
        a, b = self.science
        client = self.as_(self.reviewer)
        response = client.post(
            "/api/duplicates/decisions/",
            {"item_a": b.pk, "item_b": a.pk, "kind": "not_duplicate", "note": "다른 문항"},
            format="json",
        )
        self.assertEqual(response.status_code, 201, response.json())
        data = response.json()
        self.assertEqual((data["item_a"], data["item_b"]), self.pair(a, b))
        self.assertEqual(data["decided_by"], "reviewer")
        again = client.post(
            "/api/duplicates/decisions/",
            {"item_a": a.pk, "item_b": b.pk, "kind": "variant"},
            format="json",
        )
        self.assertEqual(again.status_code, 403)
        self.assertIn("only administrators", again.json()["detail"])
        admin = self.as_(self.admin)
        changed = admin.post(
            "/api/duplicates/decisions/",
            {"item_a": a.pk, "item_b": b.pk, "kind": "duplicate", "keeper": b.pk},
            format="json",
        )
        self.assertEqual(changed.status_code, 200, changed.json())
        self.assertEqual(changed.json()["retired_item"], a.pk)
        a.refresh_from_db()
        self.assertEqual(a.status, ItemStatus.RETIRED)
        listed = admin.get("/api/duplicates/decisions/", {"item": a.pk}).json()
        self.assertEqual([d["kind"] for d in listed["results"]], ["duplicate"])
        self.assertEqual(
            admin.get("/api/duplicates/decisions/", {"kind": "enemy"}).json()["count"], 0
        )
        self.assertEqual(admin.get("/api/duplicates/decisions/", {"kind": "x"}).status_code, 400)
        decision_id = changed.json()["id"]
        self.assertEqual(
            self.as_(self.reviewer).delete(f"/api/duplicates/decisions/{decision_id}/").status_code,
            403,
        )
        self.assertEqual(admin.delete(f"/api/duplicates/decisions/{decision_id}/").status_code, 204)
        a.refresh_from_db()
        self.assertEqual(a.status, ItemStatus.ACTIVE)
        self.assertEqual(admin.delete(f"/api/duplicates/decisions/{decision_id}/").status_code, 404)

    def test_decision_bad_input(self) -> None:
        a, b = self.science
        c = self.math[0]
        client = self.as_(self.admin)
        cases = [
            ({"item_a": a.pk, "item_b": a.pk, "kind": "enemy"}, "two different items"),
            ({"item_a": a.pk, "item_b": b.pk, "kind": "cousin"}, "kind"),
            ({"item_a": a.pk, "item_b": b.pk, "kind": "duplicate"}, "which of the two"),
            (
                {"item_a": a.pk, "item_b": b.pk, "kind": "duplicate", "keeper": c.pk},
                "one of the two",
            ),
            ({"item_a": a.pk, "item_b": 999999, "kind": "enemy"}, "does not exist"),
            ({"item_a": "x", "item_b": b.pk, "kind": "enemy"}, "item_a"),
            ({"item_b": b.pk, "kind": "enemy"}, "item_a"),
        ]
        for body, message in cases:
            with self.subTest(message=message):
                response = client.post("/api/duplicates/decisions/", body, format="json")
                self.assertEqual(response.status_code, 400)
                self.assertIn(message, str(response.json()))
        self.assertFalse(PairDecision.objects.exists())
        self.assertEqual(set(type(a).objects.values_list("status", flat=True)), {ItemStatus.ACTIVE})

    def test_reviewer_cannot_mark_duplicates(self) -> None:
        a, b = self.science
        response = self.as_(self.reviewer).post(
            "/api/duplicates/decisions/",
            {"item_a": a.pk, "item_b": b.pk, "kind": "duplicate", "keeper": a.pk},
            format="json",
        )
        self.assertEqual(response.status_code, 403)
        b.refresh_from_db()
        self.assertEqual(b.status, ItemStatus.ACTIVE)

    def test_scans(self) -> None:
        client = self.as_(self.admin)
        with (
            mock.patch("search.duplicates.tasks.run_scan.apply_async") as queued,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = client.post("/api/duplicates/scans/")
            again = client.post("/api/duplicates/scans/")
        self.assertEqual(response.status_code, 202)
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["id"], response.json()["id"])
        queued.assert_called_once_with(args=[response.json()["id"]], queue="default", retry=False)
        progress = client.get(f"/api/duplicates/scans/{response.json()['id']}/").json()
        self.assertEqual((progress["status"], progress["percent"]), ("queued", 0))
        self.assertEqual(progress["space"], self.space.name)
        done = client.get(f"/api/duplicates/scans/{self.scan_.pk}/").json()
        self.assertEqual(
            (done["status"], done["percent"], done["group_count"]), ("succeeded", 100, 2)
        )
        self.assertEqual(client.get("/api/duplicates/scans/999999/").status_code, 404)

    def test_resolved_group_leaves_the_list(self) -> None:
        a, b = self.science
        services.record_decision(a, b, Kind.NOT_DUPLICATE, user=self.reviewer)
        data = self.as_(self.reviewer).get("/api/duplicates/groups/").json()
        self.assertEqual([g["subject"] for g in data["results"]], ["수학"])

    def test_schema_lists_the_endpoints(self) -> None:
        schema = self.as_(self.admin).get("/api/schema/", {"format": "json"}).json()
        for path in (
            "/api/duplicates/groups/",
            "/api/duplicates/groups/{id}/",
            "/api/duplicates/decisions/",
            "/api/duplicates/decisions/{id}/",
            "/api/duplicates/scans/",
            "/api/duplicates/scans/{id}/",
        ):
            self.assertIn(path, schema["paths"])
        self.assertIn("post", schema["paths"]["/api/duplicates/decisions/"])
        params = {
            p["name"] for p in schema["paths"]["/api/duplicates/groups/"]["get"]["parameters"]
        }
        self.assertTrue({"ordering", "subject", "match", "page"} <= params)
