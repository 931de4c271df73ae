"""Forms of the review pages: a new campaign (drawn from a ground-truth set, or loaded from a
verification samples file)."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from embeddings.models import EmbeddingSpace
from search.models import SearchMode

from .models import MAX_REVIEWERS_PER_PAIR
from .sampling import DEFAULT_DEPTH, DEFAULT_SIZES, MAX_SAMPLE

MAX_UPLOAD = 20 * 1024 * 1024


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    guidelines = forms.CharField(
        label=gettext_lazy("Guidelines for reviewers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("Plain text; shown beside the form and before the first pair."),
    )
    gt_set = forms.ModelChoiceField(
        label=gettext_lazy("Ground truth set"), queryset=None, required=False
    )
    space = forms.ModelChoiceField(
        label=gettext_lazy("Embedding space"),
        queryset=EmbeddingSpace.objects.filter(enabled=True).order_by("name"),
        required=False,
        empty_label=gettext_lazy("The default space"),
        to_field_name="name",
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Search mode"), choices=SearchMode.choices, initial=SearchMode.DENSE
    )
    alpha = forms.FloatField(
        label=gettext_lazy("α (hybrid only)"), min_value=0.0, max_value=1.0, required=False
    )
    k = forms.IntegerField(
        label=gettext_lazy("Results searched per query"),
        min_value=10,
        max_value=200,
        initial=DEFAULT_DEPTH,
    )
    tp = forms.IntegerField(
        label=gettext_lazy("True positives"),
        min_value=0,
        max_value=MAX_SAMPLE,
        initial=DEFAULT_SIZES["tp"],
    )
    fp = forms.IntegerField(
        label=gettext_lazy("Suspected false positives"),
        min_value=0,
        max_value=MAX_SAMPLE,
        initial=DEFAULT_SIZES["fp"],
    )
    fn = forms.IntegerField(
        label=gettext_lazy("False negatives"),
        min_value=0,
        max_value=MAX_SAMPLE,
        initial=DEFAULT_SIZES["fn"],
    )
    seed = forms.IntegerField(label=gettext_lazy("Random seed"), initial=42)
    reviewers_per_pair = forms.IntegerField(
        label=gettext_lazy("Reviewers per pair"),
        min_value=1,
        max_value=MAX_REVIEWERS_PER_PAIR,
        initial=1,
    )
    show_model_score = forms.BooleanField(
        label=gettext_lazy("Show reviewers the model's similarity"), required=False
    )
    show_gt_label = forms.BooleanField(
        label=gettext_lazy("Show reviewers whether the pair is in the ground truth"),
        required=False,
    )
    samples_file = forms.FileField(
        label=gettext_lazy("Or load a verification samples file (JSON)"),
        required=False,
        help_text=gettext_lazy(
            "A list of {query, candidate, stratum, similarity, in_ground_truth, labels}; "
            "the sampling settings above are then not used."
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from search.evaluation.models import GroundTruthSet

        self.fields["gt_set"].queryset = GroundTruthSet.objects.order_by("name")

    def clean_samples_file(self):
        upload = self.cleaned_data.get("samples_file")
        if not upload:
            return None
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        try:
            return json.loads(upload.read().decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise forms.ValidationError(
                _("The file is not valid JSON: %(error)s") % {"error": exc}
            ) from exc

    def clean(self):
        data = super().clean()
        if data.get("samples_file") is None and not data.get("gt_set"):
            self.add_error(
                "gt_set", _("Choose a ground truth set to draw from, or load a samples file.")
            )
        if data.get("mode") == SearchMode.HYBRID and data.get("alpha") is None:
            data["alpha"] = None  # the search settings' α is used
        return data
