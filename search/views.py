"""The teacher's search UI: the search page, the "similar items" panel of an item page, the
side-by-side compare view and the duplicate check the item form runs before saving.

Text searches are GET requests (results can be linked and bookmarked); a search with an image is
a multipart POST. The form is posted either way: a POST without an image is redirected to the
GET address (303), so a text search always ends up linkable. With htmx the results are swapped
in place and the address bar follows.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from itembank.forms import ItemForm
from itembank.models import Item
from itembank.permissions import can_edit_items, can_read_items, require

from . import authoring
from .compare import compare_items
from .engine import SearchError, SearchRequest, SearchResult, search, similar_items
from .forms import QUERY_FIELDS, SearchForm

logger = logging.getLogger(__name__)

SIMILAR_PANEL_K = 8
# Longer text searches are answered in place instead of redirected: servers refuse long request
# lines (gunicorn: 4094 bytes), and a Korean character takes 9 bytes in an address.
MAX_LINK_LENGTH = 3500
# The GET parameters a search keeps in its address (everything but the image).
LINK_FIELDS = [name for name in SearchForm.base_fields if name != "image"]


def _link_query(form: SearchForm) -> str:
    pairs = []
    for name in LINK_FIELDS:
        value = form.data.get(name, "")
        if str(value).strip():
            pairs.append((name, str(value).strip()))
    return urlencode(pairs)


def _run(form: SearchForm) -> tuple[SearchResult | None, str]:
    data = form.cleaned_data
    request = SearchRequest(
        text=data.get("text") or "",
        image=form.checked_image.data if form.checked_image else None,
        item_id=data.get("item"),
        filters=form.filters(),
        mode=data.get("mode") or None,
        k=data.get("k"),
        alpha=data.get("alpha"),
        rerank=form.rerank_choice(),
    )
    try:
        return search(request), ""
    except SearchError as exc:
        return None, str(exc)


@require(can_read_items)
@require_http_methods(["GET", "POST"])
def search_page(request: HttpRequest) -> HttpResponse:
    result: SearchResult | None = None
    error = ""
    searched = False
    push_url = None
    if request.method == "POST":
        form = SearchForm(request.POST, request.FILES)
        searched = True
        if form.is_valid():
            link = reverse("search:search") + "?" + _link_query(form)
            linkable = form.checked_image is None and len(link) <= MAX_LINK_LENGTH
            if linkable and not request.htmx:
                return _see_other(link)
            if linkable:
                push_url = link
            result, error = _run(form)
    else:
        searched = any(str(request.GET.get(name, "")).strip() for name in QUERY_FIELDS)
        form = SearchForm(request.GET) if searched else SearchForm(initial=request.GET.dict())
        if searched and form.is_valid():
            result, error = _run(form)
    query_item = None
    if searched and form.is_bound and not form.errors and form.cleaned_data.get("item"):
        query_item = Item.objects.filter(pk=form.cleaned_data["item"]).first()
    ctx = {
        "form": form,
        "result": result,
        "error": error,
        "searched": searched,
        "query_item": query_item,
        "query_image": form.checked_image is not None,
    }
    if request.htmx and not request.htmx.boosted:
        response = render(request, "search/_results.html", ctx)
        if push_url:
            response["HX-Push-Url"] = push_url
        return response
    return render(request, "search/search.html", ctx)


def _see_other(url: str) -> HttpResponse:
    response = HttpResponse(status=303)
    response["Location"] = url
    return response


@require(can_read_items)
@require_GET
def similar_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The "similar items" panel of an item page, loaded after the page (htmx); it answers 200
    with a message whatever goes wrong, so the item page never breaks."""
    item = Item.objects.filter(pk=pk).first()
    result: SearchResult | None = None
    error = ""
    if item is None:
        error = _("This item no longer exists.")
    else:
        try:
            result = similar_items(item, k=SIMILAR_PANEL_K, rerank=False)
        except SearchError as exc:
            error = str(exc)
        except Exception:  # the panel must never break the item page
            logger.exception("similar items of item %s failed", pk)
            error = _("Similar items cannot be shown right now. Please try again later.")
    return render(
        request, "search/_similar_panel.html", {"item": item, "result": result, "error": error}
    )


@require(can_read_items)
@require_GET
def compare(request: HttpRequest, a: int, b: int) -> HttpResponse:
    items = Item.objects.in_bulk([a, b])
    missing = [pk for pk in (a, b) if pk not in items]
    if missing:
        return render(
            request,
            "search/compare_missing.html",
            {"missing": missing},
            status=404,
        )
    comparison = compare_items(items[a], items[b])
    return render(request, "search/compare.html", {"c": comparison, "same_item": a == b})


@require(can_edit_items)
@require_POST
def duplicate_check(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The item form's check while the teacher writes (posted by static/js/duplicate-check.js
    with the form's fields and files; nothing is saved): the warnings fragment, empty when there
    is nothing to warn about or the form has errors (saving shows those)."""
    instance = get_object_or_404(Item, pk=pk) if pk is not None else Item(author=request.user)
    form = ItemForm(request.POST, request.FILES, instance=instance, user=request.user)
    check = None
    try:
        valid = form.is_valid()
    except ValidationError:
        valid = False
    if valid:
        gate = authoring.gate_for(request, form)
        check = gate.check
    response = render(
        request,
        "search/_duplicate_warning.html",
        {
            "duplicates": check if check is not None and check.has_warnings else None,
            "item": instance if pk is not None else None,
            "live": True,
        },
    )
    response["X-Duplicate-Warnings"] = str(len(check.candidates) if check else 0)
    return response
