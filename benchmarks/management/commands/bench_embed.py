"""Measure an embedding backend on synthetic Korean items: speed, latency and memory.

    python manage.py bench_embed --backend qwen3-vl --model-path /models/Qwen3-VL-Embedding-2B \\
        --device cuda --dtype bfloat16 --batch-size 16 --items 256 --mix 4:3:3
    python manage.py bench_embed --backend qwen3-vl --random-weights --device cuda --dtype bfloat16

Items are generated here (plain Korean text, LaTeX-heavy text, and text with a drawn figure, in
the --mix ratio), so the run needs neither the database nor an item bank. ``--random-weights``
(qwen3-vl only) builds the real Qwen3-VL-2B architecture with random weights and an offline
tokenizer — the same speed and memory as the trained model, without the checkpoint; its BPE
vocabulary is small, so Korean text becomes somewhat more tokens than with Qwen's tokenizer.

Printed: load time, items/s over the batched run, per-item latency p50/p95 (each batch's time
divided by its size), single-item latency p50/p95 (one item per call, as a search query is),
peak RSS of this process, and on CUDA the peak GPU memory allocated.
"""

from __future__ import annotations

import json
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from PIL import Image, ImageDraw

from embeddings.backends.base import BackendConfig, BackendError
from embeddings.backends.registry import backend_class
from itembank.content import ModelInput, item_text
from tests.support.checkpoints import build_real_2b_dir

STEMS = [
    "다음 중 계산 결과가 가장 큰 것은?",
    "다음 글을 읽고 물음에 답하시오. 광합성은 식물이 빛 에너지를 이용하여 양분을 만드는 과정이다.",
    "철수는 사과 12개를 친구 3명에게 똑같이 나누어 주려고 합니다. "
    "한 명에게 몇 개씩 줄 수 있습니까?",
    "다음 중 우리나라의 전통 명절이 아닌 것은?",
    "그림과 같이 직사각형의 가로의 길이가 세로의 길이보다 3 cm 더 길 때, 넓이를 구하시오.",
]
LATEX = [
    "이차방정식 $x^2-5x+6=0$의 두 근을 $\\alpha, \\beta$라 할 때, $\\alpha^2+\\beta^2$의 값은?",
    "함수 $f(x)=\\frac{2x+1}{x-1}$의 그래프의 점근선의 방정식을 구하시오.",
    "$\\lim_{n\\to\\infty}\\frac{3n^2+1}{n^2-2n}$의 값은?",
    "$\\int_0^1 (3x^2+2x)\\,dx$의 값을 구하시오.",
    "$\\sqrt{12}\\times\\sqrt{3}-\\frac{6}{\\sqrt{2}}$를 간단히 하시오.",
]
FIGURE_STEMS = [
    "그림과 같이 삼각형 ABC에서 $\\angle A=60^\\circ$일 때, 변 BC의 길이는?",
    "다음 그래프는 어느 반 학생들의 키를 나타낸 것이다. 가장 많은 학생이 속한 구간은?",
    "그림의 좌표평면 위의 두 점 사이의 거리를 구하시오.",
]


def _figure(path: Path, rng: random.Random) -> None:
    """A test-paper-like figure: white page, axes, a triangle and a few labelled points."""
    w, h = rng.choice([(480, 360), (640, 480), (320, 320), (800, 400)])
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    draw.line([(20, h - 30), (w - 20, h - 30)], fill="black", width=2)
    draw.line([(40, 20), (40, h - 10)], fill="black", width=2)
    pts = [(rng.randint(60, w - 30), rng.randint(30, h - 40)) for _ in range(3)]
    draw.polygon(pts, outline="black", width=3)
    for label, (x, y) in zip("ABC", pts, strict=True):
        draw.text((x + 4, y - 12), label, fill="black")
    for _ in range(rng.randint(2, 6)):
        x0, y0 = rng.randint(50, w - 60), rng.randint(20, h - 60)
        draw.ellipse([x0, y0, x0 + 6, y0 + 6], fill=(rng.randint(0, 200), 0, 0))
    img.save(path)


def synthetic_items(n: int, mix: tuple[int, int, int], folder: Path, seed: int = 0):
    """n items in the text:latex:image ratio, with figures drawn into `folder`."""
    rng = random.Random(seed)
    kinds = ["text"] * mix[0] + ["latex"] * mix[1] + ["image"] * mix[2]
    if not kinds:
        raise CommandError("--mix must have a positive part")
    items, labels = [], []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        choices = [f"${rng.randint(1, 99)}$" for _ in range(5)]
        if kind == "text":
            items.append(ModelInput(item_text(rng.choice(STEMS), [c.strip("$") for c in choices])))
        elif kind == "latex":
            items.append(ModelInput(item_text(rng.choice(LATEX), choices)))
        else:
            path = folder / f"figure{i}.png"
            _figure(path, rng)
            items.append(ModelInput(item_text(rng.choice(FIGURE_STEMS), choices), (str(path),)))
        labels.append(kind)
    return items, labels


def parse_mix(value: str) -> tuple[int, int, int]:
    try:
        parts = tuple(int(p) for p in value.split(":"))
    except ValueError:
        raise CommandError(f"--mix wants three integers like 4:3:3, got {value!r}") from None
    if len(parts) != 3 or min(parts) < 0 or sum(parts) == 0:
        raise CommandError(f"--mix wants three non-negative integers like 4:3:3, got {value!r}")
    return parts  # type: ignore[return-value]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Command(BaseCommand):
    help = "Benchmark an embedding backend on synthetic Korean items (speed, latency, memory)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--backend", default="qwen3-vl")
        parser.add_argument("--model-path", default="")
        parser.add_argument(
            "--random-weights",
            action="store_true",
            help="qwen3-vl only: the real 2B architecture with random weights",
        )
        parser.add_argument("--batch-size", type=int, default=16)
        parser.add_argument("--dtype", default="float32")
        parser.add_argument("--device", default="cpu")
        parser.add_argument("--items", type=int, default=64)
        parser.add_argument("--mix", default="4:3:3", help="text:latex:image ratio")
        parser.add_argument(
            "--single",
            type=int,
            default=5,
            help="items embedded one per call for single-item latency",
        )
        parser.add_argument("--options", default="{}", help="backend options as JSON")
        parser.add_argument("--dimensions", type=int, default=None)
        parser.add_argument(
            "--threads", type=int, default=0, help="torch CPU threads (0: torch's default)"
        )
        parser.add_argument("--json", action="store_true", help="also print the figures as JSON")

    def handle(self, *args, **opts) -> None:
        try:
            options = json.loads(opts["options"])
        except ValueError as exc:
            raise CommandError(f"--options is not JSON: {exc}") from exc
        mix = parse_mix(opts["mix"])
        if opts["items"] < 1 or opts["batch_size"] < 1:
            raise CommandError("--items and --batch-size must be at least 1")
        with tempfile.TemporaryDirectory(prefix="bench_embed_") as tmp:
            model_path = opts["model_path"]
            if opts["random_weights"]:
                if opts["backend"] != "qwen3-vl":
                    raise CommandError("--random-weights is for --backend qwen3-vl")
                model_path = str(build_real_2b_dir(Path(tmp) / "qwen3-vl-2b-random"))
                options["random_weights"] = True
            items, labels = synthetic_items(opts["items"], mix, Path(tmp))
            figures = self.run(opts, model_path, options, items, labels)
        self.report(figures, opts["json"])

    def run(self, opts: dict, model_path: str, options: dict, items, labels) -> dict:
        import torch

        cuda = opts["device"].startswith("cuda")
        if opts["threads"]:
            torch.set_num_threads(opts["threads"])
        config = BackendConfig(
            backend=opts["backend"],
            model_path=model_path,
            dimensions=opts["dimensions"],
            dtype=opts["dtype"],
            device=opts["device"],
            options=options,
        )
        started = time.perf_counter()
        try:
            backend = backend_class(config.backend)(config)
            load_s = time.perf_counter() - started
            backend.embed(items[:1], batch_size=1)  # warm-up, not counted
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            per_item: list[float] = []
            vectors = []
            bs = opts["batch_size"]
            run_started = time.perf_counter()
            for start in range(0, len(items), bs):
                chunk = items[start : start + bs]
                t0 = time.perf_counter()
                vectors.append(backend.embed(chunk, batch_size=bs))
                if cuda:
                    torch.cuda.synchronize()
                per_item += [(time.perf_counter() - t0) / len(chunk)] * len(chunk)
            total_s = time.perf_counter() - run_started
            single = []
            for item in items[: max(0, opts["single"])]:
                t0 = time.perf_counter()
                backend.embed([item], batch_size=1)
                if cuda:
                    torch.cuda.synchronize()
                single.append(time.perf_counter() - t0)
        except BackendError as exc:
            raise CommandError(str(exc)) from exc
        matrix = np.vstack(vectors)
        figures = {
            "backend": config.backend,
            "device": config.device,
            "dtype": config.dtype,
            "random_weights": bool(options.get("random_weights")),
            "items": len(items),
            "mix": {k: labels.count(k) for k in ("text", "latex", "image")},
            "batch_size": opts["batch_size"],
            "threads": torch.get_num_threads(),
            "dimensions": int(matrix.shape[1]),
            "load_s": round(load_s, 3),
            "total_s": round(total_s, 3),
            "items_per_s": round(len(items) / total_s, 3),
            "latency_p50_ms": round(float(np.percentile(per_item, 50)) * 1000, 2),
            "latency_p95_ms": round(float(np.percentile(per_item, 95)) * 1000, 2),
            "peak_rss_mib": round(peak_rss_mib(), 1),
            "unit_norms": bool(np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)),
        }
        if single:
            figures["single_p50_ms"] = round(float(np.percentile(single, 50)) * 1000, 2)
            figures["single_p95_ms"] = round(float(np.percentile(single, 95)) * 1000, 2)
        if cuda:
            figures["gpu"] = torch.cuda.get_device_name(torch.device(config.device))
            figures["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        return figures

    def report(self, f: dict, as_json: bool) -> None:
        w = self.stdout.write
        w(
            f"backend {f['backend']} on {f['device']} ({f['dtype']})"
            + (" with random weights" if f["random_weights"] else "")
        )
        w(
            f"items {f['items']} (text {f['mix']['text']}, latex {f['mix']['latex']}, "
            f"image {f['mix']['image']}), batch size {f['batch_size']}, {f['dimensions']}-d"
        )
        w(f"load: {f['load_s']:.2f} s")
        w(f"items/s: {f['items_per_s']:.2f} ({f['total_s']:.2f} s in all)")
        w(f"per-item latency p50: {f['latency_p50_ms']:.1f} ms, p95: {f['latency_p95_ms']:.1f} ms")
        if "single_p50_ms" in f:
            w(
                f"single-item latency p50: {f['single_p50_ms']:.1f} ms, "
                f"p95: {f['single_p95_ms']:.1f} ms"
            )
        w(f"peak RSS: {f['peak_rss_mib']:.0f} MiB")
        if "peak_gpu_mib" in f:
            w(f"peak GPU memory: {f['peak_gpu_mib']:.0f} MiB ({f['gpu']})")
        if not f["unit_norms"]:
            w(self.style.WARNING("warning: some vectors are not unit length"))
        if as_json:
            w(json.dumps(f, ensure_ascii=False))
