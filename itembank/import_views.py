"""The admins' import page: upload an item file, watch its import run in the background."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission

from . import importing, jobs
from .models import ImportJob
from .permissions import can_administer, require


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Item file"),
        help_text=gettext_lazy(
            "A .jsonl, .json or .csv file, or a .zip archive holding one of them and its images."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in importing.SUFFIXES:
            raise forms.ValidationError(
                _("“%(name)s” is not an item file; use .jsonl, .json, .csv or .zip.")
                % {"name": upload.name}
            )
        limit = settings.ITEMBANK_MAX_IMPORT_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size).1f MB; imports may be at most %(limit).0f MB.")
                % {"size": upload.size / 1e6, "limit": limit / 1e6}
            )
        if not upload.size:
            raise forms.ValidationError(_("The file is empty."))
        return upload


@require(can_administer)
def import_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            job = ImportJob.objects.create(
                file=upload,
                original_name=Path(upload.name).name[:255],
                created_by=request.user,
                language=translation.get_language() or settings.LANGUAGE_CODE,
            )
            jobs.enqueue(job)  # sent at once: this view runs outside a transaction
            job.refresh_from_db()
            if job.waiting_for_queue:
                messages.warning(request, jobs.WAITING_FOR_QUEUE)
            else:
                messages.success(
                    request, _("The file was received; the import runs in the background.")
                )
            return redirect("item-import")
    else:
        form = ImportUploadForm()
    recent = ImportJob.objects.select_related("created_by")[:10]
    return render(request, "itembank/import.html", {"form": form, "jobs": recent})


@require(can_administer)
def import_job_status(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    return render(request, "itembank/_import_job.html", {"job": job})


# API -----------------------------------------------------------------------------------------


class ImportJobSerializer(jobs.JobSerializer):
    """An import: the fields of every job (itembank.jobs) and its own."""

    original_name = serializers.CharField(read_only=True)
    created_count = serializers.IntegerField(read_only=True)
    updated_count = serializers.IntegerField(read_only=True)
    unchanged_count = serializers.IntegerField(read_only=True)
    errors = serializers.JSONField(
        read_only=True, help_text=gettext_lazy("The problems found: line, field, message")
    )


class CanAdminister(BasePermission):
    def has_permission(self, request, view) -> bool:
        return can_administer(request.user)


@extend_schema(summary=gettext_lazy("An import job and its progress (administrators only)"))
class ImportJobDetail(generics.RetrieveAPIView):
    serializer_class = ImportJobSerializer
    permission_classes = [CanAdminister]
    queryset = ImportJob.objects.select_related("created_by")
