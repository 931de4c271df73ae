from django.urls import path

from . import api

urlpatterns = [
    path("runs/<int:pk>/", api.RunDetail.as_view(), name="evaluation-run-api-detail"),
]
