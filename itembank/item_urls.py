from django.urls import path

from . import import_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("items/", views.item_list, name="item-list"),
    path("items/new/", views.item_create, name="item-create"),
    path("items/<int:pk>/", views.item_detail, name="item-detail"),
    path("items/<int:pk>/edit/", views.item_edit, name="item-edit"),
    path("media/<path:path>", views.media, name="media"),
    path("manage/import/", import_views.import_page, name="item-import"),
    path("manage/import/<int:pk>/", import_views.import_job_status, name="item-import-job"),
]
