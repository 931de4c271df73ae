from django.urls import path

from . import api

urlpatterns = [
    path("campaigns/", api.CampaignList.as_view(), name="review-api-campaigns"),
    path("sampling/<int:pk>/", api.SamplingJobDetail.as_view(), name="review-api-sampling"),
    path("campaigns/<int:pk>/next/", api.NextPair.as_view(), name="review-api-next"),
    path("campaigns/<int:pk>/labels/", api.LabelList.as_view(), name="review-api-labels"),
    path("campaigns/<int:pk>/undo/", api.Undo.as_view(), name="review-api-undo"),
    path("campaigns/<int:pk>/conflicts/", api.ConflictList.as_view(), name="review-api-conflicts"),
    path(
        "campaigns/<int:pk>/adjudications/",
        api.AdjudicationCreate.as_view(),
        name="review-api-adjudicate",
    ),
    path("campaigns/<int:pk>/agreement/", api.Agreement.as_view(), name="review-api-agreement"),
    path("campaigns/<int:pk>/export/", api.Export.as_view(), name="review-api-export"),
]
