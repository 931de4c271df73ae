"""Import benchmark: a realistic N-item JSONL (Korean stems, LaTeX, some figures) imported into the
database, then re-imported unchanged; prints items/s. Run it as a management command:

    ./dev manage bench_import --count 10000

Everything it creates has external IDs starting with BENCH- and is deleted afterwards.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

PREFIX = "BENCH-"

SUBJECTS = {
    "수학": ["덧셈과 뺄셈", "일차방정식", "이차함수", "도형의 닮음", "확률"],
    "국어": ["문학", "문법", "비문학 읽기"],
    "영어": ["어휘", "독해"],
    "과학": ["힘과 운동", "물질의 구성", "생명 과학"],
    "사회": ["지리", "경제"],
    "한국사": ["조선 후기", "근현대사"],
}
LEVELS = [("초등", range(1, 7)), ("중등", range(1, 4)), ("고등", range(1, 4))]


def _math(rng: random.Random, n: int) -> tuple[str, list[str], str]:
    a, b, c = rng.randint(2, 9), rng.randint(-9, 9), rng.randint(10, 99)
    kinds = [
        (f"방정식 ${a}x {b:+d} = {c}$의 해를 구하면? (문항 {n})", "x"),
        (f"이차함수 $y = {a}x^2 {b:+d}x$의 꼭짓점의 $x$좌표는? (문항 {n})", "v"),
        (f"다음을 계산하면? $$\\frac{{{c}}}{{{a}}} + \\sqrt{{{a * a}}}$$ (문항 {n})", "f"),
        (f"\\( {a} \\times {c} \\)의 값으로 옳은 것은? (문항 {n})", "m"),
    ]
    stem, _ = rng.choice(kinds)
    choices = [f"${rng.randint(-50, 150)}$" for _ in range(5)]
    return stem, choices, str(rng.randint(1, 5))


def _text(rng: random.Random, subject: str, unit: str, n: int) -> tuple[str, list[str], str]:
    openers = [
        "다음 글을 읽고 물음에 답하시오.",
        "다음 설명 중 옳은 것은?",
        "밑줄 친 부분의 의미로",
    ]
    stem = (
        f"[{subject}·{unit}] {rng.choice(openers)} "
        f"학생들이 수업 시간에 조사한 내용을 정리한 것이다. 자료 {n}번에 대한 설명으로 "
        f"가장 적절한 것을 고르시오."
    )
    choices = [f"보기 {i + 1}: {unit}에 관한 설명 {rng.randint(1, 999)}" for i in range(5)]
    return stem, choices, str(rng.randint(1, 5))


def _figure(rng: random.Random) -> bytes:
    img = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = rng.randint(0, 200), rng.randint(0, 150)
        shape = [x0, y0, x0 + rng.randint(20, 110), y0 + rng.randint(20, 80)]
        draw.rectangle(shape, outline=(rng.randint(0, 200),) * 3, width=2)
    draw.line([rng.randint(0, 320) for _ in range(4)], fill="black", width=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def generate(folder: Path, count: int, *, seed: int = 7, image_share: float = 0.1) -> Path:
    """Write folder/items.jsonl (and folder/figures/) with `count` items; returns its path."""
    rng = random.Random(seed)
    figures = folder / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    distinct = max(1, min(500, int(count * image_share)))
    for i in range(distinct):
        (figures / f"fig-{i:04d}.png").write_bytes(_figure(rng))
    path = folder / "items.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for n in range(count):
            subject = rng.choice(list(SUBJECTS))
            unit = rng.choice(SUBJECTS[subject])
            level, grades = rng.choice(LEVELS)
            if subject == "수학":
                stem, choices, answer = _math(rng, n)
            else:
                stem, choices, answer = _text(rng, subject, unit, n)
            item_type = "multiple_choice" if rng.random() < 0.8 else "short_answer"
            if item_type != "multiple_choice":
                choices = []
            images = []
            if rng.random() < image_share:
                images = [f"figures/fig-{rng.randrange(distinct):04d}.png"]
            record = {
                "external_id": f"{PREFIX}{n:06d}",
                "subject": subject,
                "school_level": level,
                "grade": rng.choice(list(grades)),
                "unit": unit,
                "achievement_standard": "",
                "item_type": item_type,
                "stem": stem,
                "choices": choices,
                "answer": answer,
                "explanation": f"풀이: 조건을 정리하면 정답은 {answer}번이다.",
                "difficulty": rng.choice(["easy", "medium", "hard", ""]),
                "images": images,
                "source": "벤치마크 생성 문항",
                "tags": [unit],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def cleanup() -> int:
    """Delete every BENCH- item with its history and any image file left unreferenced."""
    from itembank.models import Item, ItemImage
    from itembank.services import delete_unreferenced_files

    names = list(
        ItemImage.objects.filter(item__external_id__startswith=PREFIX).values_list(
            "file", flat=True
        )
    )
    deleted, _ = Item.objects.filter(external_id__startswith=PREFIX).delete()
    delete_unreferenced_files(names)
    return deleted


def run(count: int, write: Callable[[str], None], *, keep: bool = False) -> dict[str, float]:
    from itembank.importing import import_path
    from itembank.models import Item

    if Item.objects.filter(external_id__startswith=PREFIX).exists():
        cleanup()
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        started = time.monotonic()
        path = generate(folder, count)
        write(
            f"generated {count} items ({path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.monotonic() - started:.1f} s"
        )
        first = import_path(path, via="benchmark")
        write(
            f"first import: {first.created} created in {first.seconds:.2f} s "
            f"= {first.total / first.seconds:.0f} items/s"
        )
        second = import_path(path, via="benchmark")
        write(
            f"re-import: {second.unchanged} unchanged in {second.seconds:.2f} s "
            f"= {second.total / second.seconds:.0f} items/s"
        )
        return {
            "count": count,
            "first_seconds": first.seconds,
            "first_rate": first.total / first.seconds,
            "reimport_seconds": second.seconds,
            "reimport_rate": second.total / second.seconds,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if not keep:
            write(f"deleted {cleanup()} benchmark rows")
