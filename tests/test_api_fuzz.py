"""Fuzzing the OpenAPI schema with schemathesis: every operation of `/api/schema/`, called
in-process through the WSGI app as an administrator (token header) with generated valid and
invalid input, must never answer with a server error, and what it answers must match the
schema's documented responses.

It runs against the real test database, with a bank of items, an embedding space (the hashing
test backend) and a row of every kind the paths name, so searches do real work and half the
generated path ids point at rows that exist. Each call runs in a savepoint rolled back
afterwards, so deletes and updates never starve later examples. Hypothesis is derandomized and
bounded (MAX_EXAMPLES per operation), so CI is deterministic.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from search import keyword
from tests.test_permissions import build_world

MAX_EXAMPLES = 15
# Ids of existing rows, by the kind of resource a path parameter names (filled per test).
EXISTING: dict[str, list[int]] = {}


def resource(path: str, name: str) -> str:
    if name == "image_id":
        return "image"
    for part, kind in (
        ("/api/items/", "item"),
        ("/api/duplicates/groups/", "group"),
        ("/api/duplicates/decisions/", "decision"),
        ("/api/duplicates/scans/", "scan"),
        ("/api/review/campaigns/", "campaign"),
    ):
        if path.startswith(part):
            return kind
    return ""


def drop_patterns(node: Any) -> None:
    """Remove "pattern" from every string schema: hypothesis cannot generate from the
    achievement-standard one (a Hangul range), so those fields are fuzzed as any text; the
    server still checks them (and must answer 400, not 500)."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            del node["pattern"]
        for value in node.values():
            drop_patterns(value)
        # drf-spectacular writes a blank-or-pattern field as oneOf [pattern, maxLength 0];
        # without the pattern "" would match both branches.
        if "oneOf" in node and any(branch.get("maxLength") == 0 for branch in node["oneOf"]):
            node["anyOf"] = node.pop("oneOf")
    elif isinstance(node, list):
        for value in node:
            drop_patterns(value)


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    drop_patterns(raw_schema)


@schemathesis.hook
def flatmap_path_parameters(
    context: Any, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy:
    """As generated, or with every id swapped for one of an existing row."""
    if not path_parameters:
        return st.just(path_parameters)
    path = context.operation.path
    existing = {
        name: EXISTING.get(resource(path, name), [])
        for name in path_parameters
        if isinstance(path_parameters[name], int)
    }
    if not existing or not all(existing.values()):
        return st.just(path_parameters)
    swapped = st.fixed_dictionaries(
        {
            name: st.sampled_from(existing[name]) if name in existing else st.just(value)
            for name, value in path_parameters.items()
        }
    )
    return st.one_of(st.just(path_parameters), swapped)


@pytest.fixture
def api_schema(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    keyword.reset_index()
    users, world = build_world()
    EXISTING.clear()
    EXISTING.update(
        item=[world.item.pk, world.other.pk, world.image_item.pk],
        image=list(world.image_item.images.values_list("pk", flat=True)),
        group=[world.group_id],
        decision=[world.decision_id],
        scan=[world.scan.pk],
        campaign=[world.campaign_id],
    )
    # Like Django's test client: the WSGI handler must not close the test's connection (and
    # with it the transaction holding the data) at the end of every request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
        schema.token = Token.objects.create(user=users["admin"]).key
        yield schema
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        keyword.reset_index()
        EXISTING.clear()
        cache.clear()  # the token endpoint's rate-throttle counters


# Operations whose answers do not match their documented schema yet (documentation gaps in
# the serializers, found by this test): checked for server errors only until they are fixed.
# None at present: add a "METHOD /path/" entry with the reason only while a fix is pending.
SCHEMA_GAPS: dict[str, str] = {}


def fuzz(operation, token: str) -> list[str]:
    """Call `operation` with MAX_EXAMPLES valid and invalid generated requests; the failures."""
    headers = {"Authorization": f"Token {token}"}
    failures: dict[str, str] = {}
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        with transaction.atomic():
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        checks = [not_a_server_error]
        if operation.label not in SCHEMA_GAPS:
            checks.append(response_schema_conformance)
            if response.status_code != 404:  # an id that matches no route: Django's HTML 404
                checks.append(content_type_conformance)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (FailureGroup, AssertionError) as exc:
            text = str(exc).strip()
            where = [line.strip() for line in text.splitlines() if "Schema at" in line]
            key = f"{response.status_code} {where[0] if where else text.splitlines()[0]}"
            if key not in failures:  # one report per distinct failure
                failures[key] = f"{text[:1200]}\n    {case.as_curl_command(headers=headers)[:300]}"

    run()
    return [f"{operation.label}: {key}\n{text}" for key, text in failures.items()]


@pytest.mark.django_db
def test_no_server_errors_and_documented_answers(api_schema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 25
    failures: list[str] = []
    for operation in operations:
        failures += fuzz(operation, api_schema.token)
    assert not failures, "\n\n".join(failures)
