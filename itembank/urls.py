from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/review/", include("search.review.api_urls")),
    path("api/", include("search.api_urls")),
    path("api/duplicates/", include("search.duplicates.api_urls")),
    path("api/", include("itembank.api_urls")),
    path("search/", include("search.urls")),
    path("duplicates/", include("search.duplicates.urls")),
    path("review/", include("search.review.urls")),
    path("evaluation/", include("search.evaluation.urls")),
    path("", include("itembank.item_urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
