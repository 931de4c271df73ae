"""Signals other apps listen to. Sent after the transaction that made the change commits."""

from django.dispatch import Signal

# Sent with item_ids=[...] when what a model sees of those items (text or images) changed.
item_content_changed = Signal()
