from __future__ import annotations

import re

from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from tests.base import BaseTestCase

# What this API's own views and serializers are called in drf-spectacular's warnings.
OURS = re.compile(r"itembank/api\.py|Item\w*(ViewSet|Serializer)|TokenView|ImageOrder|ImageUpload")


class SchemaTests(BaseTestCase):
    def test_schema_generates_without_warnings_for_the_item_api(self) -> None:
        GENERATOR_STATS.reset()
        with GENERATOR_STATS.silence():
            schema = SchemaGenerator().get_schema(request=None, public=True)
        problems = [
            msg
            for msg in list(GENERATOR_STATS._warn_cache) + list(GENERATOR_STATS._error_cache)
            if OURS.search(msg)
        ]
        self.assertEqual(problems, [])
        paths = schema["paths"]
        for path, methods in {
            "/api/items/": {"get", "post"},
            "/api/items/{id}/": {"get", "put", "patch", "delete"},
            "/api/items/{id}/images/": {"post"},
            "/api/items/{id}/images/{image_id}/": {"delete"},
            "/api/items/{id}/images/order/": {"put"},
            "/api/items/{id}/history/": {"get"},
            "/api/auth/token/": {"post"},
        }.items():
            self.assertIn(path, paths)
            self.assertTrue(methods <= set(paths[path]), (path, set(paths[path])))

        upload = paths["/api/items/{id}/images/"]["post"]["requestBody"]["content"]
        self.assertIn("multipart/form-data", upload)
        create = paths["/api/items/"]["post"]["requestBody"]["content"]
        self.assertIn("multipart/form-data", create)
        self.assertIn("application/json", create)
        listing = {p["name"]: p for p in paths["/api/items/"]["get"]["parameters"]}
        for name in ("subject", "grade", "has_image", "status", "ordering", "page", "page_size"):
            self.assertIn(name, listing)
        self.assertIn("수학", listing["subject"]["schema"]["enum"])
        self.assertEqual(
            set(listing["ordering"]["schema"]["enum"]),
            {"updated_at", "-updated_at", "external_id", "-external_id"},
        )
        item = schema["components"]["schemas"]["Item"]["properties"]
        self.assertEqual(item["choices"]["type"], "array")
        self.assertTrue(item["content_hash"]["readOnly"])

    def test_schema_endpoint(self) -> None:
        response = self.client.get("/api/schema/", {"format": "json"})
        self.assertEqual(response.status_code, 200)
        self.assertIn("/api/items/", response.json()["paths"])

    def test_docs_page_uses_only_local_assets(self) -> None:
        response = self.client.get("/api/docs/")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn("swagger-ui-bundle.js", html)
        self.assertIn("/static/drf_spectacular_sidecar/", html)
        external = re.findall(r"""(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s"'<>]*""", html)
        self.assertEqual(external, [])
        # Swagger UI's settings come in its start-up script (/api/docs/?script=), not inline.
        script = self.client.get("/api/docs/", {"script": ""}).content.decode()
        self.assertIn('"validatorUrl": null', script)
