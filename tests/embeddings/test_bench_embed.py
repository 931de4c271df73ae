"""bench_embed on CPU with the tiny Qwen3-VL checkpoint: it runs and prints its figures."""

from __future__ import annotations

import io
import json
import os

import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from benchmarks.management.commands.bench_embed import parse_mix, synthetic_items
from tests.support.checkpoints import build_tiny_qwen3_vl

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# 2 shared cores: one intra-op thread is far faster than two threads fighting for them.
torch.set_num_threads(1)


def test_bench_prints_speed_latency_and_memory(tmp_path):
    ckpt = build_tiny_qwen3_vl(tmp_path / "ckpt")
    out = io.StringIO()
    call_command(
        "bench_embed",
        "--backend",
        "qwen3-vl",
        "--model-path",
        str(ckpt),
        "--items",
        "7",
        "--batch-size",
        "3",
        "--mix",
        "1:1:1",
        "--single",
        "2",
        "--threads",
        "1",
        "--options",
        '{"max_pixels": 65536}',
        "--json",
        stdout=out,
    )
    text = out.getvalue()
    for label in ("items/s:", "per-item latency p50:", "single-item latency p50:", "peak RSS:"):
        assert label in text
    figures = json.loads(text.strip().splitlines()[-1])
    assert figures["items"] == 7 and figures["mix"] == {"text": 3, "latex": 2, "image": 2}
    assert figures["items_per_s"] > 0 and figures["peak_rss_mib"] > 50
    assert 0 < figures["latency_p50_ms"] <= figures["latency_p95_ms"]
    assert figures["dimensions"] == 64 and figures["unit_norms"] is True
    assert "peak_gpu_mib" not in figures  # CPU run


def test_synthetic_items_follow_the_mix(tmp_path):
    items, labels = synthetic_items(10, (2, 1, 2), tmp_path)
    assert labels.count("image") == 4 and labels.count("latex") == 2
    for item, kind in zip(items, labels, strict=True):
        assert bool(item.image_paths) == (kind == "image")
        assert "①" in item.text
        if kind == "latex":
            assert "$" in item.text
    with Image.open(items[labels.index("image")].image_paths[0]) as img:
        assert img.width >= 320


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(CommandError, match="mix"):
        parse_mix("1:2")
    with pytest.raises(CommandError, match="random-weights"):
        call_command("bench_embed", "--backend", "local-text", "--random-weights")
    with pytest.raises(CommandError, match="model directory not found"):
        call_command("bench_embed", "--model-path", str(tmp_path / "none"), "--items", "1")
