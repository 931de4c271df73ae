"""The permission matrix: every URL pattern of the project, visited as anonymous, teacher,
reviewer and admin, against the status each role must get.

`EXPECTED` is keyed by URL name (or by route, for unnamed patterns); a pattern it does not
classify fails `test_every_url_is_classified`, so a new URL must be added here with its
expected statuses. The Django admin's per-model pages come from `admin.site._registry` and are
checked in `AdminSiteTests`.

Conventions: web pages send anonymous visitors to the login page (302) and wrong roles get 403;
the API answers anonymous callers 401 and wrong roles 403; the Django admin sends everyone who
is not an administrator to its own login page (302, Django's behaviour). OK means the request
reached the view: anything but 401, 403, 404, 405, a redirect to a login page or a 5xx. Every
request runs in a rolled-back savepoint, so unsafe requests change nothing for the next one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client, RequestFactory, TestCase, override_settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token

from embeddings import pipeline
from embeddings.models import EmbeddingFailure
from itembank.models import ImportJob, Item, Role, User
from search import keyword
from search.duplicates import services as duplicate_services
from search.duplicates.models import DuplicateScan
from search.duplicates.scan import run_scan
from search.evaluation import evaluate
from search.review import sampling
from search.review.models import SamplingJob
from tests.base import make_item, make_user, png_bytes
from tests.embeddings.hashing_backend import make_space
from tests.review.base import make_gt

ROLES = ("anonymous", "teacher", "reviewer", "admin")
LOGIN = "login"  # 302 to /accounts/login/?next=…
ADMIN_LOGIN = "admin-login"  # 302 to /admin/login/?next=…
OK = "ok"  # reached the view (see the module docstring)
ADMIN_PAGE = "admin-page"  # 200, or a redirect to another page of the same admin (a singleton)
Expect = int | str | tuple[int, ...]


def web(teacher: Expect, reviewer: Expect, admin_: Expect) -> dict[str, Expect]:
    return {"anonymous": LOGIN, "teacher": teacher, "reviewer": reviewer, "admin": admin_}


def api(teacher: Expect, reviewer: Expect, admin_: Expect) -> dict[str, Expect]:
    return {"anonymous": 401, "teacher": teacher, "reviewer": reviewer, "admin": admin_}


def everyone(status: Expect) -> dict[str, Expect]:
    return dict.fromkeys(ROLES, status)


def staff_only(admin_: Expect) -> dict[str, Expect]:
    """A Django admin page: everyone but administrators is sent to the admin's login."""
    return {
        "anonymous": ADMIN_LOGIN,
        "teacher": ADMIN_LOGIN,
        "reviewer": ADMIN_LOGIN,
        "admin": admin_,
    }


@dataclass
class Row:
    """How to build a URL name's arguments, and what each role gets per method."""

    kwargs: Callable[[World], dict] = lambda w: {}
    query: dict = field(default_factory=dict)
    get: dict[str, Expect] | None = None
    post: dict[str, Expect] | None = None
    put: dict[str, Expect] | None = None
    patch: dict[str, Expect] | None = None
    delete: dict[str, Expect] | None = None
    data: Callable[[World], dict] = lambda w: {}

    def methods(self) -> Iterator[tuple[str, dict[str, Expect]]]:
        for method in ("get", "post", "put", "patch", "delete"):
            if (expected := getattr(self, method)) is not None:
                yield method, expected


@dataclass
class World:
    """Rows of every kind, so that each URL's arguments name something that exists."""

    item: Item
    other: Item
    image_item: Item
    scan: DuplicateScan
    group_id: int
    candidate_id: int
    decision_id: int
    campaign_id: int
    pair_id: int
    gt_set_id: int
    run_id: int
    import_job_id: int
    sampling_job_id: int
    admin_id: int


def item(w: World) -> dict:
    return {"pk": w.item.pk}


def campaign(w: World) -> dict:
    return {"pk": w.campaign_id}


READERS = web(200, 200, 200)
EDITORS = web(200, 403, 200)
REVIEWERS = web(403, 200, 200)
ADMINS = web(403, 403, 200)

# Name (or route, for unnamed patterns) -> arguments and expected statuses.
EXPECTED: dict[str, Row] = {
    # -- accounts and language
    "login": Row(get=everyone(200), post=everyone(OK)),
    "logout": Row(get=everyone(405), post=everyone(302)),
    "password_change": Row(get=web(200, 200, 200), post=web(OK, OK, OK)),
    "password_change_done": Row(get=web(200, 200, 200)),
    "set_language": Row(post=everyone(302), data=lambda w: {"language": "en"}),
    # -- items (web)
    "home": Row(get=everyone(302)),  # to the item list, which asks for a login
    "item-list": Row(get=READERS),
    "item-create": Row(get=EDITORS, post=EDITORS),
    "item-detail": Row(kwargs=item, get=READERS),
    "item-edit": Row(kwargs=item, get=EDITORS, post=EDITORS),
    "media": Row(kwargs=lambda w: {"path": w.image_item.images.get().file.name}, get=READERS),
    "item-import": Row(get=ADMINS, post=ADMINS),
    "item-import-job": Row(kwargs=lambda w: {"pk": w.import_job_id}, get=ADMINS),
    # -- search (web)
    "search:search": Row(get=READERS, post=web(OK, OK, OK)),
    "search:similar": Row(kwargs=item, get=READERS),
    "search:compare": Row(kwargs=lambda w: {"a": w.item.pk, "b": w.other.pk}, get=READERS),
    "search:check": Row(get=web(405, 403, 405), post=EDITORS),
    "search:check-edit": Row(kwargs=item, post=EDITORS),
    # -- duplicates (web)
    "duplicate-report": Row(get=REVIEWERS),
    "duplicate-scan-start": Row(post=web(403, 403, OK)),
    "duplicate-scan": Row(kwargs=lambda w: {"pk": w.scan.pk}, get=REVIEWERS),
    "duplicate-group": Row(kwargs=lambda w: {"pk": w.group_id}, get=REVIEWERS),
    "duplicate-decide": Row(
        kwargs=lambda w: {"pk": w.group_id},
        post=web(403, OK, OK),
        data=lambda w: {"pair": w.candidate_id, "action": "not_duplicate"},
    ),
    "duplicate-not-duplicates": Row(
        kwargs=lambda w: {"pk": w.group_id}, get=REVIEWERS, post=web(403, OK, OK)
    ),
    "duplicate-undo": Row(kwargs=lambda w: {"pk": w.decision_id}, post=web(403, 403, OK)),
    # -- review (web)
    "review-campaigns": Row(get=REVIEWERS),
    "review-campaign-create": Row(get=ADMINS, post=web(403, 403, OK)),
    "review-sampling": Row(kwargs=lambda w: {"pk": w.sampling_job_id}, get=ADMINS),
    "review-queue": Row(kwargs=campaign, get=REVIEWERS),
    "review-label": Row(
        kwargs=campaign,
        post=web(403, OK, OK),
        data=lambda w: {"pair": w.pair_id, "label": "similar"},
    ),
    "review-undo": Row(kwargs=campaign, post=web(403, OK, OK)),
    "review-campaign-status": Row(
        kwargs=campaign, post=web(403, 403, OK), data=lambda w: {"status": "closed"}
    ),
    "review-adjudicate": Row(kwargs=campaign, get=ADMINS),
    "review-adjudicate-submit": Row(
        kwargs=lambda w: {"pk": w.campaign_id, "pair_id": w.pair_id}, post=web(403, 403, OK)
    ),
    "review-agreement": Row(kwargs=campaign, get=ADMINS),
    "review-export": Row(kwargs=campaign, get=ADMINS),
    # -- evaluation (web)
    "evaluation:dashboard": Row(get=REVIEWERS),
    "evaluation:report-json": Row(get=REVIEWERS),
    "evaluation:run-detail": Row(kwargs=lambda w: {"pk": w.run_id}, get=REVIEWERS),
    "evaluation:run-start": Row(post=web(403, 403, OK)),
    "evaluation:set-export": Row(kwargs=lambda w: {"pk": w.gt_set_id}, get=REVIEWERS),
    "evaluation:set-build": Row(kwargs=lambda w: {"kind": "tfidf"}, post=web(403, 403, OK)),
    # -- API: schema and docs are public documentation
    "api-schema": Row(get=everyone(200)),
    "api-docs": Row(get=everyone(200)),
    "api-root": Row(get=api(200, 200, 200)),
    # post 400: no credentials given; delete revokes the caller's own token
    "api-token": Row(get=everyone(405), post=everyone(400), delete=api(204, 204, 204)),
    # -- API: items
    "item-api-list": Row(get=api(200, 200, 200), post=api(OK, 403, OK)),
    "item-api-detail": Row(
        kwargs=item,
        get=api(200, 200, 200),
        put=api(OK, 403, OK),
        patch=api(OK, 403, OK),
        delete=api(403, 403, 204),
    ),
    "item-api-history": Row(kwargs=item, get=api(200, 200, 200)),
    "item-api-upload-images": Row(kwargs=item, post=api(OK, 403, OK)),
    "item-api-order-images": Row(kwargs=item, put=api(OK, 403, OK)),
    "item-api-delete-image": Row(
        kwargs=lambda w: {"pk": w.image_item.pk, "image_id": w.image_item.images.get().pk},
        delete=api(204, 403, 204),
    ),
    # -- API: search
    "api-search": Row(
        get=api(200, 200, 200),
        post=api(200, 200, 200),
        query={"text": "계산"},
        data=lambda w: {"text": "계산"},
    ),
    "api-item-similar": Row(kwargs=item, get=api(200, 200, 200)),
    # -- API: duplicates
    "duplicate-group-api-list": Row(get=api(403, 200, 200)),
    "duplicate-group-api-detail": Row(kwargs=lambda w: {"pk": w.group_id}, get=api(403, 200, 200)),
    "duplicate-decision-api-list": Row(get=api(403, 200, 200), post=api(403, OK, OK)),
    "duplicate-decision-api-detail": Row(
        kwargs=lambda w: {"pk": w.decision_id}, get=api(403, 200, 200), delete=api(403, 403, 204)
    ),
    "duplicate-scan-api-list": Row(get=api(403, 200, 200), post=api(403, 403, OK)),
    "duplicate-scan-api-detail": Row(kwargs=lambda w: {"pk": w.scan.pk}, get=api(403, 200, 200)),
    "import-job-api-detail": Row(kwargs=lambda w: {"pk": w.import_job_id}, get=api(403, 403, 200)),
    "evaluation-run-api-detail": Row(kwargs=lambda w: {"pk": w.run_id}, get=api(403, 200, 200)),
    "review-api-sampling": Row(kwargs=lambda w: {"pk": w.sampling_job_id}, get=api(403, 403, 200)),
    # -- API: review
    "review-api-campaigns": Row(get=api(403, 200, 200)),
    "review-api-next": Row(kwargs=campaign, get=api(403, 200, 200)),
    "review-api-labels": Row(kwargs=campaign, get=api(403, 200, 200), post=api(403, OK, OK)),
    "review-api-undo": Row(kwargs=campaign, post=api(403, 404, 404)),  # 404: nothing to undo
    "review-api-conflicts": Row(kwargs=campaign, get=api(403, 403, 200)),
    "review-api-adjudicate": Row(kwargs=campaign, post=api(403, 403, OK)),
    "review-api-agreement": Row(kwargs=campaign, get=api(403, 403, 200)),
    "review-api-export": Row(kwargs=campaign, get=api(403, 403, 200)),
    # -- the Django admin's site-wide pages (per-model pages: AdminSiteTests)
    "admin:index": Row(get=staff_only(200)),
    "admin:login": Row(get={**everyone(200), "admin": 302}),
    # Non-staff: back to the admin's index; staff: logged out, to LOGOUT_REDIRECT_URL.
    "admin:logout": Row(post=everyone(302)),
    "admin:password_change": Row(get=staff_only(200)),
    "admin:password_change_done": Row(get=staff_only(200)),
    "admin:autocomplete": Row(get=staff_only(403)),  # 403: no field named
    "admin:jsi18n": Row(get=staff_only(200)),
    "admin:app_list": Row(kwargs=lambda w: {"app_label": "itembank"}, get=staff_only(200)),
    "admin:view_on_site": Row(
        kwargs=lambda w: {
            "content_type_id": ContentType.objects.get_for_model(Item).pk,
            "object_id": w.item.pk,
        },
        get=staff_only(302),  # to the item's page
    ),
    "admin:auth_user_password_change": Row(
        kwargs=lambda w: {"id": w.admin_id}, get=staff_only(200)
    ),
    "admin/(?P<url>.*)$": Row(kwargs=lambda w: {"url": "no-such-page/"}, get=staff_only(404)),
    # -- monitoring: rows for URLs that are not routed yet are simply never visited
    "healthz": Row(get=everyone((200, 503))),
    "ops-dashboard": Row(get=ADMINS),
    "metrics": Row(get={"anonymous": (401, 403), "teacher": 403, "reviewer": 403, "admin": 200}),
}
# The admin's per-model pages, checked from the registry (AdminSiteTests).
ADMIN_MODEL_VIEWS = ("changelist", "add", "change", "delete", "history")


def walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple]:
    """(route, name, pattern) for every URL pattern under `resolver`."""
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, prefix + str(entry.pattern), inner)
        else:
            assert isinstance(entry, URLPattern)
            name = f"{namespace}{entry.name}" if entry.name else None
            yield prefix + str(entry.pattern), name, entry


def admin_model_prefixes() -> set[str]:
    return {
        f"admin:{model._meta.app_label}_{model._meta.model_name}_" for model in admin.site._registry
    }


def admin_model_routes() -> set[str]:
    return {
        f"admin/{model._meta.app_label}/{model._meta.model_name}/<path:object_id>/"
        for model in admin.site._registry
    }


def is_admin_model_view(name: str | None, route: str) -> bool:
    if name is None:
        return route in admin_model_routes()
    return any(
        name == prefix + view for prefix in admin_model_prefixes() for view in ADMIN_MODEL_VIEWS
    )


def row_key(name: str | None, route: str) -> str:
    return name if name is not None else route


def url_for(route: str, name: str | None, pattern: URLPattern, world: World) -> str:
    """A concrete URL for a pattern of EXPECTED, with its row's arguments."""
    row = EXPECTED[row_key(name, route)]
    kwargs = row.kwargs(world)
    if name is None:  # the admin's catch-all: its route is a regular expression
        return "/" + route.split("(")[0] + kwargs.get("url", "")
    if "format" in pattern.pattern.regex.groupindex:
        kwargs["format"] = "json"  # DRF's format-suffix twin of the same view
    return reverse(name, kwargs=kwargs)


def walk_named_urls(world: World) -> Iterator[tuple[str, str]]:
    """(name, URL) of every named pattern in EXPECTED, without DRF's format-suffix twins."""
    for route, name, pattern in walk(get_resolver()):
        if name in EXPECTED and "format" not in pattern.pattern.regex.groupindex:
            yield name, url_for(route, name, pattern, world)


def outcome(response, expected: Expect) -> bool:
    """Whether `response` is what `expected` says."""
    status = response.status_code
    location = response.headers.get("Location", "")
    if expected == LOGIN:
        return status == 302 and location.startswith("/accounts/login/?next=")
    if expected == ADMIN_LOGIN:
        return status == 302 and location.startswith("/admin/login/?next=")
    if expected == ADMIN_PAGE:
        redirect = location.startswith("/admin/") and not location.startswith("/admin/login/")
        return status == 200 or (status == 302 and redirect)
    if expected == OK:
        to_login = status in (301, 302, 303) and "/login/" in location
        return status < 500 and status not in (401, 403, 404, 405) and not to_login
    if isinstance(expected, tuple):
        return status in expected
    return status == expected


def build_world() -> tuple[dict[str, User], World]:
    """Users of each role and a row of every kind the URLs name (MEDIA_ROOT must be a
    throwaway directory: an item has a figure)."""
    users = {
        "teacher": make_user("teacher", Role.TEACHER),
        "reviewer": make_user("reviewer", Role.REVIEWER),
        "admin": make_user("admin", Role.ADMIN),
    }
    admin_user = users["admin"]
    space = make_space("perm-hash", 64, make_default=True)
    words = " ".join(f"어휘{i}" for i in range(40))
    near = [
        make_item(
            f"P-{i}",
            stem=f"{words} 끝{i}",
            item_type="short_answer",
            choices=[],
            answer="1",
            user=users["teacher"],
        )
        for i in range(3)
    ]
    image_item = make_item("P-IMG", images=[png_bytes()], user=admin_user)
    pipeline.embed_items(space, list(Item.objects.values_list("pk", flat=True)))
    scan = DuplicateScan.objects.create(
        space=space,
        settings={
            "thresholds": {},
            "default_threshold": 0.9,
            "neighbours": 10,
            "phash_distance": 4,
            "space": space.name,
        },
    )
    scan = run_scan(scan.pk)
    assert scan.status == DuplicateScan.Status.SUCCEEDED, scan.error
    group = scan.groups.first()
    assert group is not None
    candidate = scan.candidates.filter(group=group).first()
    decision = duplicate_services.record_decision(
        near[0], near[2], "not_duplicate", user=admin_user
    )
    gt_set = make_gt([*near, image_item], name="perm-gt", pairs={0: [1], 1: [2]})
    samples = [
        sampling.Sample(near[0], near[1], "tp", 0.9, True, 1),
        sampling.Sample(near[1], near[2], "tp", 0.8, True, 2),
    ]
    review = sampling.create_campaign("perm-campaign", samples, gt_set=gt_set, user=admin_user)
    run = evaluate.create_run(gt_set, space=space.name, mode="dense", user=admin_user)
    job = ImportJob.objects.create(
        file=ContentFile(b"", name="items.jsonl"),
        original_name="items.jsonl",
        created_by=admin_user,
    )
    sampling_job = SamplingJob.objects.create(
        name="perm-sampling", gt_set=gt_set, created_by=admin_user
    )
    EmbeddingFailure.objects.create(
        item=near[0], space=space, content_hash=near[0].content_hash, error="test"
    )
    Token.objects.create(user=users["teacher"])
    world = World(
        item=near[0],
        other=near[1],
        image_item=image_item,
        scan=scan,
        group_id=group.pk,
        candidate_id=candidate.pk,
        decision_id=decision.pk,
        campaign_id=review.pk,
        pair_id=review.pairs.order_by("pk").first().pk,
        gt_set_id=gt_set.pk,
        run_id=run.pk,
        import_job_id=job.pk,
        sampling_job_id=sampling_job.pk,
        admin_id=admin_user.pk,
    )
    return users, world


class MatrixTestCase(TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.media = tempfile.mkdtemp(prefix="itembank-permissions-")
        cls.media_override = override_settings(MEDIA_ROOT=cls.media)
        cls.media_override.enable()
        keyword.reset_index()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()
        keyword.reset_index()
        cls.media_override.disable()
        shutil.rmtree(cls.media, ignore_errors=True)

    @classmethod
    def setUpTestData(cls) -> None:
        cls.users, cls.world = build_world()

    def client_for(self, role: str) -> Client:
        client = Client(raise_request_exception=False)
        if role != "anonymous":
            client.force_login(self.users[role])
        return client

    def form_pages(self) -> list[tuple[str, str]]:
        """Every page a user can open: the matrix's web GET pages (as an administrator, who
        sees every form), the login page, and the admin's changelists and add forms."""
        pages = [("/accounts/login/", "anonymous")]
        for name, url in walk_named_urls(self.world):
            row = EXPECTED[name]
            if row.get is None or row.get.get("admin") != 200 or url.startswith("/api/"):
                continue
            pages.append((url, "admin"))
        item = self.world.item.pk
        pages += [
            ("/admin/", "admin"),
            ("/admin/itembank/item/", "admin"),
            (f"/admin/itembank/item/{item}/change/", "admin"),
            (f"/admin/itembank/item/{item}/delete/", "admin"),
            ("/admin/itembank/user/add/", "admin"),
            ("/admin/embeddings/embeddingspace/", "admin"),
            (f"/review/{self.world.campaign_id}/", "reviewer"),
            (f"/items/{item}/edit/", "teacher"),
        ]
        return pages

    def request(self, role: str, method: str, url: str, data: dict, query: dict):
        """One request in a savepoint that is rolled back afterwards."""
        client = self.client_for(role)
        with transaction.atomic():
            if method == "get":
                response = client.get(url, query)
            elif method == "post":
                response = client.post(url, data)
            else:
                response = getattr(client, method)(url, data, content_type="application/json")
            transaction.set_rollback(True)
        return response


class URLMatrixTests(MatrixTestCase):
    def test_every_url_is_classified(self) -> None:
        unclassified = [
            (route, name)
            for route, name, _pattern in walk(get_resolver())
            if row_key(name, route) not in EXPECTED and not is_admin_model_view(name, route)
        ]
        self.assertEqual(
            unclassified, [], "add these URLs to EXPECTED in tests/test_permissions.py"
        )

    def test_every_url_as_every_role(self) -> None:
        problems: list[str] = []
        visited = 0
        for route, name, pattern in walk(get_resolver()):
            key = row_key(name, route)
            if key not in EXPECTED:
                continue  # the admin's per-model pages (AdminSiteTests); or unclassified (above)
            row = EXPECTED[key]
            try:
                url = url_for(route, name, pattern, self.world)
            except NoReverseMatch:
                self.fail(f"cannot build a URL for {key}")
            for method, expected_by_role in row.methods():
                for role in ROLES:
                    expected = expected_by_role[role]
                    response = self.request(role, method, url, row.data(self.world), row.query)
                    visited += 1
                    if not outcome(response, expected):
                        problems.append(
                            f"{method.upper()} {url} ({key}) as {role}: expected {expected}, "
                            f"got {response.status_code} {response.headers.get('Location', '')}"
                        )
        self.assertGreater(visited, 300)
        self.assertEqual(problems, [], "\n" + "\n".join(problems))


class AdminSiteTests(MatrixTestCase):
    """The admin index and every registered ModelAdmin's pages, per role: administrators get
    what the ModelAdmin allows; nobody else gets past the admin's login."""

    def admin_expectation(self, model_admin, view: str, obj) -> Expect:
        """What an administrator gets: the page, or 403 where the ModelAdmin forbids the
        action; a missing object is the admin's redirect to its index (302)."""
        request = RequestFactory().get("/admin/")
        request.user = self.users["admin"]
        if view == "add" and not model_admin.has_add_permission(request):
            return 403
        if view == "delete" and not model_admin.has_delete_permission(request, obj):
            return 403
        if view in ("change", "delete", "history") and obj is None:
            return 302
        return ADMIN_PAGE

    def test_every_model_admin_as_every_role(self) -> None:
        problems: list[str] = []
        self.assertGreater(len(admin.site._registry), 10)
        for model, model_admin in admin.site._registry.items():
            opts = model._meta
            obj = model._default_manager.order_by("pk").first()
            for view in ADMIN_MODEL_VIEWS:
                name = f"admin:{opts.app_label}_{opts.model_name}_{view}"
                if view in ("change", "delete", "history"):
                    url = reverse(name, args=[obj.pk if obj is not None else 999_999])
                else:
                    url = reverse(name)
                for role in ROLES:
                    if role == "admin":
                        expected = self.admin_expectation(model_admin, view, obj)
                    else:
                        expected = ADMIN_LOGIN
                    response = self.request(role, "get", url, {}, {})
                    if not outcome(response, expected):
                        problems.append(
                            f"GET {url} as {role}: expected {expected}, got "
                            f"{response.status_code} {response.headers.get('Location', '')}"
                        )
            if obj is not None:
                # The bare object URL redirects to the change page, for administrators only.
                bare = f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/"
                for role in ROLES:
                    expected = 302 if role == "admin" else ADMIN_LOGIN
                    response = self.request(role, "get", bare, {}, {})
                    if not outcome(response, expected):
                        problems.append(f"GET {bare} as {role}: got {response.status_code}")
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_teachers_and_reviewers_cannot_post_to_the_admin(self) -> None:
        """Unsafe admin actions (add a user, delete an item) are refused before any change."""
        item_pk = self.world.item.pk
        users = set(User.objects.values_list("username", flat=True))
        for role in ("anonymous", "teacher", "reviewer"):
            client = self.client_for(role)
            for url, data in (
                ("/admin/itembank/user/add/", {"username": "intruder", "role": "admin"}),
                (f"/admin/itembank/item/{item_pk}/delete/", {"post": "yes"}),
                (
                    "/admin/itembank/item/",
                    {"action": "delete_selected", "_selected_action": item_pk},
                ),
            ):
                response = client.post(url, data)
                self.assertTrue(outcome(response, ADMIN_LOGIN), (url, role, response.status_code))
        self.assertTrue(Item.objects.filter(pk=item_pk).exists())
        self.assertEqual(set(User.objects.values_list("username", flat=True)), users)
