from django.urls import path

from . import views

urlpatterns = [
    path("", views.report, name="duplicate-report"),
    path("scans/", views.scan_start, name="duplicate-scan-start"),
    path("scans/<int:pk>/", views.scan_status, name="duplicate-scan"),
    path("groups/<int:pk>/", views.group_detail, name="duplicate-group"),
    path("groups/<int:pk>/decide/", views.group_decide, name="duplicate-decide"),
    path(
        "groups/<int:pk>/not-duplicates/",
        views.group_not_duplicates,
        name="duplicate-not-duplicates",
    ),
    path("decisions/<int:pk>/undo/", views.decision_undo, name="duplicate-undo"),
]
