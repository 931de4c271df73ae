from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = _("Search and duplicates")

    def ready(self) -> None:
        from itembank.signals import item_content_changed

        from .keyword import mark_changed
        from .receivers import queue_keywords

        item_content_changed.connect(queue_keywords, dispatch_uid="search.queue_keywords")
        item_content_changed.connect(mark_changed, dispatch_uid="search.keyword_mark_changed")
