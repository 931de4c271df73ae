from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from embeddings.models import EmbeddingSpace

from .evaluate import DEFAULT_K, MAX_K
from .models import GroundTruthSet

MODE_CHOICES = [
    ("dense", _("Dense (embedding)")),
    ("bm25", _("Keyword (BM25)")),
    ("hybrid", _("Hybrid α·dense + (1−α)·BM25")),
    ("rrf", _("Reciprocal rank fusion")),
]
IMPORT_KINDS = [("", _("As the file says"))] + [
    (value, label) for value, label in GroundTruthSet.Kind.choices
]


def _sets():
    return GroundTruthSet.objects.order_by("name")


class TfidfForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, initial="tfidf")
    top_k = forms.IntegerField(
        label=_("Relevant items per query"), min_value=1, max_value=100, initial=5
    )


class PlantedForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, initial="planted")


class CombineForm(forms.Form):
    a = forms.ModelChoiceField(label=_("First set"), queryset=_sets(), to_field_name="name")
    b = forms.ModelChoiceField(label=_("Second set"), queryset=_sets(), to_field_name="name")
    op = forms.ChoiceField(
        label=_("Combine by"),
        choices=[
            ("intersection", _("Intersection (pairs in both; the POC's hybrid GT)")),
            ("union", _("Union (pairs in either)")),
        ],
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("Empty: named after the two sets."),
    )

    def clean(self):
        data = super().clean()
        if data.get("a") and data.get("a") == data.get("b"):
            raise forms.ValidationError(_("Choose two different ground-truth sets."))
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Ground-truth JSON file"))
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("Empty: the name in the file, or the file name."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=IMPORT_KINDS, required=False)


class RunForm(forms.Form):
    gt_set = forms.ModelChoiceField(label=_("Ground truth"), queryset=_sets(), to_field_name="name")
    space = forms.ModelChoiceField(
        label=_("Embedding space"),
        queryset=EmbeddingSpace.objects.order_by("name"),
        to_field_name="name",
        required=False,
        empty_label=_("Default space"),
    )
    mode = forms.ChoiceField(label=_("Search mode"), choices=MODE_CHOICES, initial="dense")
    alpha = forms.FloatField(label=_("α (hybrid)"), min_value=0, max_value=1, required=False)
    rerank = forms.BooleanField(label=_("Rerank"), required=False)
    k = forms.IntegerField(
        label=_("Results per query"), min_value=1, max_value=MAX_K, initial=DEFAULT_K
    )
    sweep = forms.ChoiceField(
        label=_("Runs"),
        choices=[
            ("", _("One run")),
            ("alpha", _("α sweep: hybrid at α = 0, 0.1, …, 1")),
            ("rerank", _("Reranker off and on")),
            ("spaces", _("Every enabled embedding space")),
        ],
        required=False,
    )
