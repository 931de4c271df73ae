from django.urls import path

from . import views

app_name = "search"

urlpatterns = [
    path("", views.search_page, name="search"),
    path("items/<int:pk>/similar/", views.similar_panel, name="similar"),
    path("compare/<int:a>/<int:b>/", views.compare, name="compare"),
    path("check/", views.duplicate_check, name="check"),
    path("check/<int:pk>/", views.duplicate_check, name="check-edit"),
]
