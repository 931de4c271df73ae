"""Draw a stratified sample of query–candidate pairs for expert verification into a new review
campaign, optionally writing it as a verification samples file (formats.md), or load such a
file into a campaign (--input)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from search.review import sampling


class Command(BaseCommand):
    help = "Sample TP / suspected FP / FN pairs from a ground-truth set into a review campaign."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--gt", help="ground-truth set name")
        parser.add_argument("--space", help="embedding space (default: the default space)")
        parser.add_argument("--mode", default="dense", help="dense, bm25, hybrid or rrf")
        parser.add_argument("--alpha", type=float, help="hybrid weight α")
        parser.add_argument("--k", type=int, default=sampling.DEFAULT_DEPTH, help="search depth")
        parser.add_argument("--tp", type=int, default=sampling.DEFAULT_SIZES["tp"])
        parser.add_argument("--fp", type=int, default=sampling.DEFAULT_SIZES["fp"])
        parser.add_argument("--fn", type=int, default=sampling.DEFAULT_SIZES["fn"])
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--campaign", required=True, help="name of the new campaign")
        parser.add_argument("--reviewers-per-pair", type=int, default=1)
        parser.add_argument("--guidelines", default="", help="guidelines text for reviewers")
        parser.add_argument("--output", help="also write the sample to this JSON file")
        parser.add_argument("--input", help="load this verification samples file instead")

    def handle(self, *args, **options) -> None:
        from search.evaluation.models import GroundTruthSet

        gt_set = None
        if options["gt"]:
            gt_set = GroundTruthSet.objects.filter(name=options["gt"]).first()
            if gt_set is None:
                raise CommandError(
                    _("There is no ground truth set named %(name)s.") % {"name": options["gt"]}
                )
        try:
            if options["input"]:
                try:
                    data = json.loads(Path(options["input"]).read_text(encoding="utf-8-sig"))
                except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise CommandError(
                        _("Cannot read %(path)s: %(error)s")
                        % {"path": options["input"], "error": exc}
                    ) from exc
                samples = sampling.parse_samples(data)
                config = {"source": Path(options["input"]).name}
                available = None
            else:
                if gt_set is None:
                    raise CommandError(_("Name the ground truth set with --gt (or give --input)."))
                search_config = sampling.SearchConfig(
                    space=options["space"],
                    mode=options["mode"],
                    alpha=options["alpha"],
                    k=options["k"],
                )
                sizes = {"tp": options["tp"], "fp": options["fp"], "fn": options["fn"]}
                samples, available = sampling.sample_pairs(
                    gt_set, search_config, sizes, seed=options["seed"]
                )
                config = {**search_config.as_dict(), "seed": options["seed"], "sizes": sizes}
            campaign = sampling.create_campaign(
                options["campaign"],
                samples,
                gt_set=gt_set,
                config=config,
                reviewers_per_pair=options["reviewers_per_pair"],
                guidelines=options["guidelines"],
            )
        except sampling.SamplingError as exc:
            raise CommandError(str(exc)) from exc
        counts = {}
        for sample in samples:
            counts[sample.stratum] = counts.get(sample.stratum, 0) + 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        self.stdout.write(
            _("Campaign %(name)s (id %(id)d): %(n)d pairs (%(summary)s).")
            % {"name": campaign.name, "id": campaign.pk, "n": len(samples), "summary": summary}
        )
        if available is not None:
            self.stdout.write(
                _("Pairs available per stratum: %(counts)s")
                % {"counts": ", ".join(f"{k} {v}" for k, v in sorted(available.items()))}
            )
        if options["output"]:
            path = Path(options["output"])
            path.write_text(
                json.dumps(sampling.export_samples(campaign), ensure_ascii=False, indent=1),
                encoding="utf-8",
            )
            self.stdout.write(_("Wrote %(path)s.") % {"path": path})
