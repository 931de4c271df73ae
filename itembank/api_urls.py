from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api, import_views

router = DefaultRouter()
router.register("items", api.ItemViewSet, basename="item-api")

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("imports/<int:pk>/", import_views.ImportJobDetail.as_view(), name="import-job-api-detail"),
    path("", include(router.urls)),
]
