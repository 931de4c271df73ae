"""How large an item may be, in one place. The validators below sit on the model's fields, so
every writer that validates through the model — the item form, the API (`Item.full_clean` in
its serializer), the import (`Item.full_clean` per record), the admin — refuses the same
things, and an item saved one way can always be edited another way.

The limits keep one item from costing the bank too much: keyword search tokenises each item,
the item page and the API list send it whole, embedding reads it all. Every demo item is far
inside them (the demo bank's largest: stem 335 characters, 5 choices of up to 45 characters,
3 tags of up to 14 characters, explanation 108 characters).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from .content import CIRCLED

STEM_MAX = 20_000  # characters
EXPLANATION_MAX = 20_000
ANSWER_MAX = 2_000
CHOICES_MAX = len(CIRCLED)  # 10: the choices are numbered ① … ⑩
CHOICE_MAX = 2_000
TAGS_MAX = 30
TAG_MAX = 50

stem_length = MaxLengthValidator(STEM_MAX)
explanation_length = MaxLengthValidator(EXPLANATION_MAX)


def validate_choices(value: object) -> None:
    """At most CHOICES_MAX choices of at most CHOICE_MAX characters each."""
    if not isinstance(value, list):
        raise ValidationError(_("Give the choices as a list of text."), code="invalid")
    if len(value) > CHOICES_MAX:
        raise ValidationError(
            _("An item may have at most %(max)d choices.") % {"max": CHOICES_MAX},
            code="too_many",
        )
    for index, text in enumerate(value):
        if not isinstance(text, str):
            raise ValidationError(_("Give the choices as a list of text."), code="invalid")
        if len(text) > CHOICE_MAX:
            raise ValidationError(
                _("Choice %(n)d is longer than %(max)d characters.")
                % {"n": index + 1, "max": CHOICE_MAX},
                code="too_long",
            )


def validate_tags(value: object) -> None:
    """At most TAGS_MAX tags of at most TAG_MAX characters each."""
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ValidationError(_("Give the tags as a list of text."), code="invalid")
    if len(value) > TAGS_MAX:
        raise ValidationError(_("Use at most %(max)d tags.") % {"max": TAGS_MAX}, code="too_many")
    if any(len(tag) > TAG_MAX for tag in value):
        raise ValidationError(
            _("A tag may be at most %(max)d characters long.") % {"max": TAG_MAX},
            code="too_long",
        )


# The longest line (.jsonl, .csv) or list element (.json) an import reads: the largest item the
# limits above allow is about 0.5 MB even with every character JSON-escaped (\uXXXX), so a longer
# record can only be a mistake or an attack; reading it whole would cost its size in memory.
RECORD_MAX_BYTES = 2 * 1024 * 1024
