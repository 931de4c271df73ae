"""The authoring UI: the item list with filters, an item's page, creating and editing items, and
the item images (served to logged-in users only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from . import services
from .filters import ItemFilterForm
from .forms import STALE_MESSAGE, ItemForm
from .gates import save_gate
from .history import item_history
from .models import Item, ItemImage
from .permissions import accept_token, can_edit_items, can_read_items, require

PAGE_SIZE = 25
CONTENT_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}


def home(request: HttpRequest) -> HttpResponse:
    return redirect("item-list")


@require(can_read_items)
def item_list(request: HttpRequest) -> HttpResponse:
    form = ItemFilterForm(request.GET)
    items = Item.objects.prefetch_related(
        Prefetch("images", queryset=ItemImage.objects.order_by("position", "id"))
    )
    items = form.filter(items) if form.is_valid() else items.none()
    paginator = Paginator(items, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    filtered = any(value for key, value in request.GET.items() if key != "page" and value.strip())
    ctx = {
        "form": form,
        "page": page,
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "filtered": filtered,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "itembank/_item_results.html", ctx)
    return render(request, "itembank/item_list.html", ctx)


@require(can_read_items)
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Item.objects.select_related("author"), pk=pk)
    revisions = item.revisions.select_related("user")
    ctx = {
        "item": item,
        "images": item.images.order_by("position", "id"),
        "history": item_history(revisions),
    }
    return render(request, "itembank/item_detail.html", ctx)


def suggest_external_id() -> str:
    """A free ID like ITEM-20250301-0001 for a new item; the teacher may change it."""
    prefix = f"ITEM-{timezone.localdate():%Y%m%d}-"
    taken = set(
        Item.objects.filter(external_id__startswith=prefix).values_list("external_id", flat=True)
    )
    number = len(taken) + 1
    while f"{prefix}{number:04d}" in taken:
        number += 1
    return f"{prefix}{number:04d}"


@require(can_edit_items)
def item_create(request: HttpRequest) -> HttpResponse:
    item = Item(author=request.user)
    if request.method == "POST":
        form = ItemForm(request.POST, request.FILES, instance=item, user=request.user)
        if form.is_valid():
            gate = save_gate(request, form)
            if gate.blocked:  # probable duplicates: warn before saving
                ctx = {"form": form, "item": None, "duplicates": gate.check}
                return render(request, "itembank/item_form.html", ctx)
            item = form.save(commit=False)
            with transaction.atomic():
                services.save_item(item, user=request.user, images=form.image_changes(), via="web")
                gate.record(request, item)
            messages.success(
                request, _("Item %(id)s was added to the bank.") % {"id": item.external_id}
            )
            return redirect(item)
    else:
        form = ItemForm(instance=item, initial={"external_id": suggest_external_id()})
    return render(request, "itembank/item_form.html", {"form": form, "item": None})


@require(can_edit_items)
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Item, pk=pk)
    if request.method == "POST":
        form = ItemForm(request.POST, request.FILES, instance=item, user=request.user)
        gate = save_gate(request, form) if form.is_valid() else None
        if gate is not None and gate.blocked:  # probable duplicates: warn before saving
            saved = Item.objects.get(pk=pk)
            ctx = {"form": form, "item": saved, "duplicates": gate.check}
            return render(request, "itembank/item_form.html", ctx)
        if gate is not None:
            item = form.save(commit=False)
            try:
                with transaction.atomic():
                    revision = services.save_item(
                        item,
                        user=request.user,
                        images=form.image_changes(),
                        via="web",
                        expected_version=form.cleaned_data["version"],
                    )
                    gate.record(request, item)
            except services.StaleItem:
                # Someone saved in between: nothing of this submit was written.
                form.add_error("version", STALE_MESSAGE)
            else:
                if revision is None:
                    messages.info(request, _("Nothing was changed."))
                else:
                    messages.success(request, _("Your changes were saved."))
                return redirect(item)
    else:
        form = ItemForm(instance=item)
    # A refused form has already written the typed values onto `item`; show the saved one.
    saved = Item.objects.get(pk=pk)
    return render(request, "itembank/item_form.html", {"form": form, "item": saved})


@accept_token
@require(can_read_items)
def media(request: HttpRequest, path: str) -> HttpResponse:
    # The same figure may belong to several items (files are content-addressed).
    image = ItemImage.objects.filter(file=path).first()
    if image is None:
        raise Http404
    try:
        handle = image.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle, content_type=CONTENT_TYPES.get(image.format, "application/octet-stream")
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    # Content-addressed names never change content; the browser may keep them.
    response["Cache-Control"] = "private, max-age=86400"
    return response
