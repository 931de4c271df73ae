"""The Celery app, configured from Django settings (CELERY_*)."""

import os

from celery import Celery

from itembank import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itembank.settings")

app = Celery("itembank")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Request/task ids in every log line; the worker and beat log through settings.LOGGING.
logs.connect_celery_signals()
