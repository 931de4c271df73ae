"""Filtering the item list. The authoring UI and the API both use `ItemFilterForm`, so a filter
means the same thing wherever it is typed, and unexpected values are refused, never passed on.
"""

from __future__ import annotations

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .models import Item, ItemStatus, ItemType, SchoolLevel, Subject

BLANK = [("", "—")]
YES_NO = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


class ItemFilterForm(forms.Form):
    q = forms.CharField(label=_("Search text"), required=False, max_length=200)
    subject = forms.ChoiceField(label=_("Subject"), choices=BLANK + Subject.choices, required=False)
    school_level = forms.ChoiceField(
        label=_("School level"), choices=BLANK + SchoolLevel.choices, required=False
    )
    grade = forms.IntegerField(label=_("Grade"), required=False, min_value=1, max_value=12)
    unit = forms.CharField(label=_("Unit"), required=False, max_length=200)
    item_type = forms.ChoiceField(
        label=_("Item type"), choices=BLANK + ItemType.choices, required=False
    )
    has_image = forms.ChoiceField(label=_("Has image"), choices=YES_NO, required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=BLANK + ItemStatus.choices, required=False
    )

    def filter(self, queryset: QuerySet[Item]) -> QuerySet[Item]:
        """Apply the cleaned filters; call after is_valid()."""
        data = self.cleaned_data
        if q := data.get("q"):
            queryset = queryset.filter(
                Q(external_id__icontains=q) | Q(stem__icontains=q) | Q(unit__icontains=q)
            )
        for name in ("subject", "school_level", "item_type", "status"):
            if value := data.get(name):
                queryset = queryset.filter(**{name: value})
        if data.get("grade"):
            queryset = queryset.filter(grade=data["grade"])
        if unit := data.get("unit"):
            queryset = queryset.filter(unit__icontains=unit)
        if data.get("has_image") == "yes":
            queryset = queryset.filter(image_count__gt=0)
        elif data.get("has_image") == "no":
            queryset = queryset.filter(image_count=0)
        return queryset
