"""The item domain: users with roles, test items (문항), their images and their edit history.

Fields follow `shared/design/formats.md`. Items change through `itembank.services` only, which
keeps the derived fields (content hash, has-LaTeX, image count) and the history in step.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .jobs import Job
from .limits import (
    ANSWER_MAX,
    EXPLANATION_MAX,
    STEM_MAX,
    explanation_length,
    stem_length,
    validate_choices,
    validate_tags,
)


class Role(models.TextChoices):
    TEACHER = "teacher", _("Teacher")
    REVIEWER = "reviewer", _("Reviewer")
    ADMIN = "admin", _("Administrator")


class ItemBankUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person using the bank. The role decides what they may do (see itembank.permissions)."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.TEACHER)

    objects = ItemBankUserManager()

    def save(self, *args, **kwargs):
        # Admins manage everything, including the Django admin; the others never enter it.
        if self.role == Role.ADMIN:
            self.is_staff = True
            self.is_superuser = True
        elif self.is_superuser:
            self.role = Role.ADMIN
            self.is_staff = True
        else:
            self.is_staff = False
        super().save(*args, **kwargs)
        if getattr(self, "_password_changed", False) or not self.is_active:
            # A new password or a deactivated account ends every API token: signing in again
            # gives a new one (`POST /api/auth/token/`). Imported here: DRF's token model
            # points at AUTH_USER_MODEL, this model, so it cannot load before this module.
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user=self).delete()
            self._password_changed = False

    def set_password(self, raw_password) -> None:
        super().set_password(raw_password)
        self._password_changed = True

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.role == Role.ADMIN

    @property
    def is_teacher(self) -> bool:
        return self.is_active and self.role == Role.TEACHER

    @property
    def is_reviewer(self) -> bool:
        return self.is_active and self.role == Role.REVIEWER


class Subject(models.TextChoices):
    KOREAN = "국어", _("Korean language")
    MATH = "수학", _("Mathematics")
    ENGLISH = "영어", _("English")
    SOCIAL = "사회", _("Social studies")
    SCIENCE = "과학", _("Science")
    HISTORY = "한국사", _("Korean history")
    INFORMATICS = "정보", _("Informatics")


class SchoolLevel(models.TextChoices):
    ELEMENTARY = "초등", _("Elementary")
    MIDDLE = "중등", _("Middle school")
    HIGH = "고등", _("High school")


class ItemType(models.TextChoices):
    MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
    SHORT_ANSWER = "short_answer", _("Short answer")
    ESSAY = "essay", _("Essay")


class Difficulty(models.TextChoices):
    EASY = "easy", _("Easy")
    MEDIUM = "medium", _("Medium")
    HARD = "hard", _("Hard")


class ItemStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


external_id_validator = RegexValidator(
    r"^[A-Za-z0-9가-힣][A-Za-z0-9가-힣._:\-]*$",
    _("Use letters, digits, '.', '_', ':' and '-' only, starting with a letter or digit."),
)
achievement_standard_validator = RegexValidator(
    r"^\[[0-9A-Za-z가-힣]+(-[0-9A-Za-z가-힣]+)+\]$",
    _("Write an achievement standard code such as [9수01-01]."),
)

# Inline $...$ or \(...\), display $$...$$ or \[...\] (formats.md).
LATEX_PATTERN = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)


def has_latex(text: str) -> bool:
    return bool(LATEX_PATTERN.search(text))


class Item(models.Model):
    external_id = models.CharField(
        _("external ID"), max_length=64, unique=True, validators=[external_id_validator]
    )
    subject = models.CharField(_("subject"), max_length=16, choices=Subject.choices, db_index=True)
    school_level = models.CharField(
        _("school level"), max_length=8, choices=SchoolLevel.choices, blank=True
    )
    grade = models.PositiveSmallIntegerField(
        _("grade"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    unit = models.CharField(_("unit"), max_length=200, blank=True)
    achievement_standard = models.CharField(
        _("achievement standard"),
        max_length=40,
        blank=True,
        validators=[achievement_standard_validator],
        help_text=_("성취기준 code, e.g. [9수01-01]"),
    )
    item_type = models.CharField(
        _("item type"), max_length=32, choices=ItemType.choices, default=ItemType.MULTIPLE_CHOICE
    )
    # A TextField's max_length is not validated by Django; the validators are (itembank.limits).
    stem = models.TextField(_("stem"), max_length=STEM_MAX, validators=[stem_length])
    choices = models.JSONField(
        _("choices"), default=list, blank=True, validators=[validate_choices]
    )
    answer = models.CharField(_("answer"), max_length=ANSWER_MAX, blank=True)
    explanation = models.TextField(
        _("explanation"), blank=True, max_length=EXPLANATION_MAX, validators=[explanation_length]
    )
    difficulty = models.CharField(
        _("difficulty"), max_length=8, choices=Difficulty.choices, blank=True
    )
    source = models.CharField(_("source"), max_length=200, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True, validators=[validate_tags])
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=ItemStatus.choices,
        default=ItemStatus.ACTIVE,
        db_index=True,
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="authored_items",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The row version: `services.save_item` (and every other writer) adds one on each save, under
    # a row lock, and refuses a save that expected another version (the API's ETag/If-Match, the
    # form's hidden `version`), so two editors never overwrite each other unseen.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    # Derived from the content by services.refresh_derived(); never edited by hand.
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True, editable=False)
    has_latex = models.BooleanField(_("has LaTeX"), default=False, editable=False)
    image_count = models.PositiveSmallIntegerField(_("images"), default=0, editable=False)

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["subject", "grade", "unit"]),
            models.Index(fields=["updated_at"]),
            models.Index(fields=["content_hash"]),
        ]

    def __str__(self) -> str:
        return self.external_id

    def get_absolute_url(self) -> str:
        return reverse("item-detail", args=[self.pk])

    @property
    def has_image(self) -> bool:
        return self.image_count > 0

    @property
    def category(self) -> str:
        """The POC's categories: image items, LaTeX items, text-only items."""
        if self.image_count:
            return "image"
        if self.has_latex:
            return "latex"
        return "text"


def item_image_path(instance: ItemImage, filename: str) -> str:
    # Content-addressed: the same figure uploaded twice is stored once.
    ext = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}.get(instance.format, "bin")
    return f"items/{instance.sha256[:2]}/{instance.sha256}.{ext}"


class ItemImage(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    file = models.FileField(_("file"), upload_to=item_image_path, max_length=200)
    original_name = models.CharField(_("original name"), max_length=255, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size_bytes = models.PositiveIntegerField(_("size (bytes)"))
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    format = models.CharField(_("format"), max_length=8)

    class Meta:
        verbose_name = _("item image")
        verbose_name_plural = _("item images")
        ordering = ["item", "position", "id"]

    def __str__(self) -> str:
        return f"{self.item.external_id} #{self.position + 1}"


class ItemRevision(models.Model):
    """One change to an item: who, when, how (UI, API, import, admin) and which fields."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Edited")
        IMPORT = "import", _("Imported")
        STATUS = "status", _("Status changed")

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="revisions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    via = models.CharField(_("via"), max_length=16, blank=True)
    changes = models.JSONField(_("changes"), default=dict)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("item revision")
        verbose_name_plural = _("item revisions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.action} {self.created_at:%Y-%m-%d %H:%M}"


def import_upload_path(instance: ImportJob, filename: str) -> str:
    # Each upload in its own folder, so files never collide or see each other.
    return f"imports/{uuid.uuid4().hex}/{filename}"


class ImportJob(Job):
    """An uploaded item file and the background import that reads it (itembank.importing)."""

    task_name = "itembank.run_import_job"
    kind = "import"
    interrupted_error = _("Interrupted: the worker stopped before the import finished.")

    file = models.FileField(_("file"), upload_to=import_upload_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    language = models.CharField(_("language"), max_length=16, blank=True)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta(Job.Meta):
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"
