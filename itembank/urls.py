from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # Sign-in and password change only: there is no mail server to send reset links through
    # (an administrator sets a forgotten password in the admin).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, and our template its styles:
    # no inline script or style (itembank.security's Content-Security-Policy).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("api/review/", include("search.review.api_urls")),
    path("api/", include("search.api_urls")),
    path("api/duplicates/", include("search.duplicates.api_urls")),
    path("api/evaluation/", include("search.evaluation.api_urls")),
    path("api/", include("itembank.api_urls")),
    path("search/", include("search.urls")),
    path("duplicates/", include("search.duplicates.urls")),
    path("review/", include("search.review.urls")),
    path("evaluation/", include("search.evaluation.urls")),
    # ops/ (dashboard), metrics (Prometheus), healthz/ (container healthcheck)
    path("", include("monitoring.urls")),
    path("", include("itembank.item_urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
