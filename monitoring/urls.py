from django.urls import path

from . import views

urlpatterns = [
    path("ops/", views.dashboard, name="ops-dashboard"),
    path("metrics", views.metrics_view, name="metrics"),
    path("healthz/", views.healthz, name="healthz"),
]
