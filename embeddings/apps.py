from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmbeddingsConfig(AppConfig):
    name = "embeddings"
    verbose_name = _("Embeddings")

    def ready(self) -> None:
        # Inside ready(): receivers imports the models, which Django loads after the app configs.
        from itembank.signals import item_content_changed

        from .receivers import queue_embedding

        item_content_changed.connect(queue_embedding, dispatch_uid="embeddings.queue_embedding")
