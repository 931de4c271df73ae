from django.urls import path

from . import views

urlpatterns = [
    path("", views.campaign_list, name="review-campaigns"),
    path("new/", views.campaign_create, name="review-campaign-create"),
    path("sampling/<int:pk>/", views.sampling_job, name="review-sampling"),
    path("<int:pk>/", views.queue, name="review-queue"),
    path("<int:pk>/label/", views.label_submit, name="review-label"),
    path("<int:pk>/undo/", views.undo, name="review-undo"),
    path("<int:pk>/status/", views.campaign_status, name="review-campaign-status"),
    path("<int:pk>/adjudicate/", views.adjudication, name="review-adjudicate"),
    path(
        "<int:pk>/adjudicate/<int:pair_id>/",
        views.adjudicate_submit,
        name="review-adjudicate-submit",
    ),
    path("<int:pk>/agreement/", views.agreement, name="review-agreement"),
    path("<int:pk>/export/", views.export, name="review-export"),
]
