from django.urls import path

from . import views

app_name = "evaluation"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("report.json", views.report_json, name="report-json"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/start/", views.start_run, name="run-start"),
    path("sets/<int:pk>/export.json", views.export_set, name="set-export"),
    path("sets/build/<slug:kind>/", views.build_set, name="set-build"),
]
