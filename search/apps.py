from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = _("Search and duplicates")

    def ready(self) -> None:
        # Inside ready(): these modules import models, which Django loads after the app configs.
        from itembank.gates import register_save_gate
        from itembank.signals import item_content_changed

        from .authoring import gate_for
        from .keyword import mark_changed
        from .receivers import queue_keywords

        # The item form's write-time duplicate check (itembank cannot import search).
        register_save_gate(gate_for)

        item_content_changed.connect(queue_keywords, dispatch_uid="search.queue_keywords")
        item_content_changed.connect(mark_changed, dispatch_uid="search.keyword_mark_changed")
