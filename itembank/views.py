"""Authoring views (placeholder until the authoring UI lands)."""

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from .models import Item, ItemImage
from .permissions import can_edit_items, can_read_items, require


def home(request: HttpRequest) -> HttpResponse:
    return redirect("item-list")


@require(can_read_items)
def item_list(request: HttpRequest) -> HttpResponse:
    return render(request, "itembank/item_list.html", {"items": Item.objects.all()[:50]})


@require(can_read_items)
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "itembank/item_detail.html", {"item": get_object_or_404(Item, pk=pk)})


@require(can_edit_items)
def item_create(request: HttpRequest) -> HttpResponse:
    raise Http404


@require(can_edit_items)
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


@require(can_read_items)
def media(request: HttpRequest, path: str) -> HttpResponse:
    image = get_object_or_404(ItemImage, file=path)
    return FileResponse(image.file.open("rb"))
