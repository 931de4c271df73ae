from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from search.signals import search_timed


class MonitoringConfig(AppConfig):
    name = "monitoring"
    label = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self) -> None:
        # Inside ready(): timing imports the models, which Django loads after the app configs.
        from .timing import record_search

        search_timed.connect(record_search, dispatch_uid="monitoring.record_search")
