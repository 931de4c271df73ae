from django.urls import path

from . import api

urlpatterns = [
    path("groups/", api.GroupList.as_view(), name="duplicate-group-api-list"),
    path("groups/<int:pk>/", api.GroupDetail.as_view(), name="duplicate-group-api-detail"),
    path("decisions/", api.DecisionList.as_view(), name="duplicate-decision-api-list"),
    path("decisions/<int:pk>/", api.DecisionDetail.as_view(), name="duplicate-decision-api-detail"),
    path("scans/", api.ScanList.as_view(), name="duplicate-scan-api-list"),
    path("scans/<int:pk>/", api.ScanDetail.as_view(), name="duplicate-scan-api-detail"),
]
