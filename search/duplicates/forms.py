"""The report's filters (subject, match kind, order), shared by the pages and the API."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from itembank.models import Subject

from . import services
from .models import DuplicateGroup, DuplicateScan

ORDER_CHOICES = [
    ("-score", _("Highest score first")),
    ("score", _("Lowest score first")),
    ("subject", _("Subject")),
    ("-subject", _("Subject, reversed")),
    ("-date", _("Newest items first")),
    ("date", _("Oldest items first")),
]
MATCH_CHOICES = [
    ("", _("All matches")),
    ("exact", _("Exact matches only")),
    ("model", _("Model similarity only")),
]


class GroupFilterForm(forms.Form):
    subject = forms.ChoiceField(
        label=_("Subject"), choices=[("", _("All subjects")), *Subject.choices], required=False
    )
    match = forms.ChoiceField(label=_("Match"), choices=MATCH_CHOICES, required=False)
    order = forms.ChoiceField(label=_("Order"), choices=ORDER_CHOICES, required=False)

    def groups(self, scan: DuplicateScan | None) -> QuerySet[DuplicateGroup]:
        data = self.cleaned_data
        qs = services.open_groups(
            scan,
            subject=data.get("subject") or "",
            ordering=data.get("order") or services.DEFAULT_ORDERING,
        )
        if data.get("match") == "exact":
            qs = qs.filter(has_exact=True)
        elif data.get("match") == "model":
            qs = qs.filter(has_exact=False)
        return qs

    def query(self) -> dict[str, str]:
        """The filters as query parameters, to carry from page to page."""
        return {k: v for k, v in self.cleaned_data.items() if v}
