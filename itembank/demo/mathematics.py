# ruff: noqa: E501 -- item templates hold long Korean and LaTeX sentences; splitting them hurts reading.
"""Mathematics templates: middle school first, some elementary and high school items."""

from __future__ import annotations

import math
from fractions import Fraction
from random import Random

from .base import Draft, FigureSpec, Template, frac, multiple_choice, numeric_choices, poly

SUBJECT = "수학"


def linear_equation(rng: Random, topic: str) -> Draft:
    x = rng.choice([n for n in range(-9, 10) if n not in (0, 1)])
    if topic == "both_sides":
        a, c = rng.sample([2, 3, 4, 5, 6, 7], 2)
        b = rng.randint(-12, 12)
        d = a * x + b - c * x
        stem = f"일차방정식 ${poly([a, b])} = {poly([c, d])}$의 해는?"
        why = f"$({a}-{c})x = {d} - ({b})$이므로 $x = {x}$이다."
        level = "medium"
    elif topic == "fraction":
        a = rng.choice([2, 3, 4, 5])
        x = a * rng.choice([n for n in range(-4, 6) if n])
        b = rng.randint(1, 9)
        c = x // a + b
        stem = f"방정식 $\\frac{{x}}{{{a}}} + {b} = {c}$을 풀면?"
        why = f"양변에서 ${b}$를 빼면 $\\frac{{x}}{{{a}}} = {c - b}$, 양변에 ${a}$를 곱하면 $x = {x}$."
        level = "easy"
    else:
        a = rng.choice([2, 3, 4, 5, 6, 7, 8, 9])
        b = rng.randint(-15, 15)
        c = a * x + b
        stem = f"다음 일차방정식의 해를 구하면?\n$${poly([a, b])} = {c}$$"
        why = f"${a}x = {c - b}$이므로 $x = {x}$이다."
        level = "easy"
    choices, answer = numeric_choices(rng, x)
    return Draft(
        SUBJECT,
        "중등",
        1,
        "일차방정식",
        "[9수02-06]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty=level,
        tags=("일차방정식", "방정식의 풀이"),
    )


def simultaneous(rng: Random, topic: str) -> Draft:
    x, y = rng.randint(1, 9), rng.randint(1, 9)
    if topic == "word":
        item_a, item_b = rng.choice(
            [("사과", "배"), ("연필", "공책"), ("빵", "우유"), ("장미", "튤립")]
        )
        pa, pb = rng.choice([500, 600, 700, 800]), rng.choice([900, 1000, 1200, 1500])
        x, y = rng.randint(2, 8), rng.randint(2, 8)
        total, cost = x + y, pa * x + pb * y
        stem = (
            f"한 개에 {pa}원인 {item_a}와 한 개에 {pb}원인 {item_b}를 합하여 {total}개 사고 "
            f"{cost}원을 지불하였다. 구입한 {item_a}의 개수는?"
        )
        why = (
            f"{item_a}를 $x$개, {item_b}를 $y$개라 하면 $x + y = {total}$, "
            f"${pa}x + {pb}y = {cost}$. 연립하여 풀면 $x = {x}$, $y = {y}$."
        )
        choices, answer = numeric_choices(rng, x, spread=3, positive=True)
        return Draft(
            SUBJECT,
            "중등",
            2,
            "연립일차방정식",
            "[9수02-08]",
            stem,
            choices=choices,
            answer=answer,
            explanation=why,
            difficulty="medium",
            tags=("연립방정식", "활용"),
        )
    a, b = rng.choice([2, 3, 4]), rng.choice([1, 2, 3])
    c, d = rng.choice([1, 2, 5]), rng.choice([-1, -2, -3])
    stem = (
        "연립방정식 $$\\begin{cases} "
        f"{poly([a, 0])} {'+' if b > 0 else '-'} {abs(b) if abs(b) != 1 else ''}y = {a * x + b * y}"
        f" \\\\ {poly([c, 0])} {'+' if d > 0 else '-'} {abs(d) if abs(d) != 1 else ''}y = "
        f"{c * x + d * y} \\end{{cases}}$$의 해를 $x = p$, $y = q$라 할 때, $p + q$의 값은?"
    )
    why = f"가감법으로 풀면 $x = {x}$, $y = {y}$이므로 $p + q = {x + y}$이다."
    choices, answer = numeric_choices(rng, x + y, spread=4, positive=True)
    return Draft(
        SUBJECT,
        "중등",
        2,
        "연립일차방정식",
        "[9수02-08]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("연립방정식", "가감법"),
    )


def quadratic_equation(rng: Random, topic: str) -> Draft:
    if topic == "discriminant":
        a = rng.choice([1, 1, 2])
        r = rng.choice([n for n in range(-6, 7) if n])
        b = -2 * a * r
        k = a * r * r
        stem = f"이차방정식 ${poly([a, b])} + k = 0$이 중근을 가질 때, 상수 $k$의 값은?"
        why = f"판별식 $D = ({b})^2 - 4 \\times {a} \\times k = 0$에서 $k = {k}$이다."
        choices, answer = numeric_choices(rng, k, spread=5)
        return Draft(
            SUBJECT,
            "중등",
            3,
            "이차방정식",
            "[9수02-11]",
            stem,
            choices=choices,
            answer=answer,
            explanation=why,
            difficulty="hard",
            tags=("이차방정식", "중근", "판별식"),
        )
    if topic == "formula":
        a = rng.choice([1, 2, 3])
        b = rng.choice([n for n in range(-7, 8) if n])
        c = rng.choice([n for n in range(-6, 3) if n])
        disc = b * b - 4 * a * c
        while disc <= 0 or math.isqrt(disc) ** 2 == disc:
            c -= 1
            disc = b * b - 4 * a * c
        right = f"\\frac{{{-b} \\pm \\sqrt{{{disc}}}}}{{{2 * a}}}"
        stem = (
            f"이차방정식 ${poly([a, b, c])} = 0$의 해를 근의 공식을 이용하여 구하면 "
            "$x = \\frac{A \\pm \\sqrt{B}}{C}$이다. $A + B + C$의 값은? "
            "(단, $A$, $B$, $C$는 유리수이고 $\\frac{A \\pm \\sqrt{B}}{C}$는 약분하지 않은 꼴이다.)"
        )
        why = (
            "근의 공식 $$x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$$에 대입하면 "
            f"$x = {right}$이므로 $A + B + C = {-b + disc + 2 * a}$."
        )
        choices, answer = numeric_choices(rng, -b + disc + 2 * a, spread=6)
        return Draft(
            SUBJECT,
            "중등",
            3,
            "이차방정식",
            "[9수02-12]",
            stem,
            choices=choices,
            answer=answer,
            explanation=why,
            difficulty="hard",
            tags=("이차방정식", "근의 공식"),
        )
    p, q = rng.sample([n for n in range(-8, 9) if n], 2)
    coeffs = [1, -(p + q), p * q]
    stem = f"이차방정식 ${poly(coeffs)} = 0$의 두 근의 합은?"
    why = f"$({poly([1, -p])})({poly([1, -q])}) = 0$이므로 두 근은 ${p}$, ${q}$이고 합은 ${p + q}$."
    choices, answer = numeric_choices(rng, p + q, spread=5)
    return Draft(
        SUBJECT,
        "중등",
        3,
        "이차방정식",
        "[9수02-11]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="easy",
        tags=("이차방정식", "인수분해"),
    )


def line_equation(a: Fraction, b: int) -> str:
    """$y = ax + b$ written as a textbook would: no 1 before x, no "+ 0"."""
    coef = frac(a) if abs(a) != 1 else ("-" if a < 0 else "")
    constant = "" if b == 0 else f" {'+' if b > 0 else '-'} {abs(b)}"
    return f"$y = {coef}x{constant}$"


def linear_function(rng: Random, topic: str) -> Draft:
    if topic == "intersection":
        x, y = rng.randint(-3, 3), rng.randint(-3, 3)
        a1, a2 = rng.sample([-3, -2, -1, 1, 2, 3], 2)
        b1, b2 = y - a1 * x, y - a2 * x
        curves = [
            {"kind": "linear", "a": a1, "b": b1, "label": "l"},
            {"kind": "linear", "a": a2, "b": b2, "label": "m"},
        ]
        stem = (
            f"그림은 두 일차함수 $y = {poly([a1, b1])}$, $y = {poly([a2, b2])}$의 그래프 "
            "$l$, $m$을 나타낸 것이다. 두 그래프의 교점 $\\mathrm{P}$의 좌표를 $(a, b)$라 할 때, "
            "$a + b$의 값은?"
        )
        figure = FigureSpec(
            "graph",
            {
                "x_range": [-6, 6],
                "y_range": [-6, 6],
                "curves": curves,
                "points": [{"xy": [x, y], "label": "P"}],
                "grid": True,
            },
        )
        choices, answer = numeric_choices(rng, x + y, spread=4)
        why = f"${poly([a1, b1])} = {poly([a2, b2])}$에서 $x = {x}$, $y = {y}$이므로 ${x + y}$."
        return Draft(
            SUBJECT,
            "중등",
            2,
            "일차함수와 그래프",
            "[9수03-05]",
            stem,
            choices=choices,
            answer=answer,
            explanation=why,
            difficulty="medium",
            tags=("일차함수", "교점"),
            figure=figure,
        )
    a = rng.choice([Fraction(n, d) for n in (-3, -2, -1, 1, 2, 3) for d in (1, 2)])
    b = rng.randint(-3, 3)
    xs = [x for x in range(-4, 5) if (a * x).denominator == 1 and x and -6 < a * x + b < 6]
    x1, x2 = sorted(rng.sample(xs, 2)) if len(xs) >= 2 else (0, 2)
    pts = [
        {"xy": [x1, float(a * x1 + b)], "label": "A", "dashed": True},
        {"xy": [x2, float(a * x2 + b)], "label": "B", "dashed": True},
    ]
    figure = FigureSpec(
        "graph",
        {
            "x_range": [-6, 6],
            "y_range": [-6, 6],
            "curves": [{"kind": "linear", "a": float(a), "b": b}],
            "points": pts,
            "grid": True,
        },
    )
    if topic == "equation":
        stem = (
            "그림과 같이 두 점 $\\mathrm{A}$, $\\mathrm{B}$를 지나는 일차함수의 그래프가 있다. "
            "이 일차함수의 식은?"
        )
        correct = line_equation(a, b)
        wrong = [
            line_equation(Fraction(da), db)
            for da, db in (
                (-a, b),
                (a, -b),
                (1 / a, b),
                (a, b + 1),
                (a, b - 1),
                (-a, -b),
                (2 * a, b),
                (a, b + 2),
            )
        ]
        choices, answer = multiple_choice(rng, correct, wrong)
        why = f"기울기는 $\\frac{{{float(a * x2 + b) - float(a * x1 + b):g}}}{{{x2 - x1}}} = {frac(a)}$, $y$절편은 ${b}$."
        level = "medium"
    else:
        stem = (
            "그림은 일차함수의 그래프가 두 점 $\\mathrm{A}$, $\\mathrm{B}$를 지나는 것을 나타낸 "
            "것이다. 이 그래프의 기울기는?"
        )
        wrong = [
            f"${frac(v)}$" for v in (-a, a * 2, a + 1, a - 1, 1 / a, -1 / a, a + 2, a - 2, 3 * a)
        ]
        choices, answer = multiple_choice(rng, f"${frac(a)}$", wrong, keep_order=True)
        why = (
            "기울기는 $\\frac{(y\\text{의 값의 증가량})}{(x\\text{의 값의 증가량})}$"
            f"$= {frac(a)}$이다."
        )
        level = "easy"
    return Draft(
        SUBJECT,
        "중등",
        2,
        "일차함수와 그래프",
        "[9수03-04]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty=level,
        tags=("일차함수", "기울기"),
        figure=figure,
    )


def quadratic_function(rng: Random, topic: str) -> Draft:
    a = rng.choice([-2, -1, 1, 2])
    p, q = rng.randint(-3, 3), rng.randint(-3, 3) if a > 0 else rng.randint(0, 4)
    if a > 0:
        q = rng.randint(-5, 0)
    expanded = [a, -2 * a * p, a * p * p + q]
    figure = FigureSpec(
        "graph",
        {
            "x_range": [-6, 6],
            "y_range": [-7, 7],
            "curves": [{"kind": "quadratic", "a": a, "p": p, "q": q}],
            "points": [{"xy": [p, q], "label": "P", "dashed": True}],
            "grid": True,
        },
    )
    if topic == "extremum":
        word = "최솟값" if a > 0 else "최댓값"
        stem = (
            f"이차함수 $y = {poly(expanded)}$의 그래프가 그림과 같을 때, 이 함수의 {word}은? "
            "(단, 점 $\\mathrm{P}$는 꼭짓점이다.)"
        )
        choices, answer = numeric_choices(rng, q, spread=4)
        why = f"$y = {a}(x {'-' if p >= 0 else '+'} {abs(p)})^2 {'+' if q >= 0 else '-'} {abs(q)}$이므로 {word}은 ${q}$."
    else:
        stem = (
            f"그림은 이차함수 $y = {poly(expanded)}$의 그래프이다. 꼭짓점 $\\mathrm{{P}}$의 좌표를 "
            "$(m, n)$이라 할 때, $m + n$의 값은?"
        )
        choices, answer = numeric_choices(rng, p + q, spread=4)
        why = f"완전제곱식으로 고치면 꼭짓점은 $({p}, {q})$이므로 $m + n = {p + q}$."
    return Draft(
        SUBJECT,
        "중등",
        3,
        "이차함수와 그래프",
        "[9수03-06]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("이차함수", "꼭짓점"),
        figure=figure,
    )


def proportion(rng: Random, topic: str) -> Draft:
    if topic == "inverse":
        a = rng.choice([-12, -8, -6, -4, 4, 6, 8, 12])
        x = rng.choice([d for d in (1, 2, 3, 4, 6) if a % d == 0 and abs(a // d) <= 6])
        y = a // x
        figure = FigureSpec(
            "graph",
            {
                "x_range": [-7, 7],
                "y_range": [-7, 7],
                "curves": [{"kind": "inverse", "a": a}],
                "points": [{"xy": [x, y], "label": "A", "dashed": True}],
            },
        )
        stem = (
            f"그림은 반비례 관계 $y = \\frac{{a}}{{x}}$의 그래프이다. 그래프가 점 "
            f"$\\mathrm{{A}}({x}, {y})$를 지날 때, 상수 $a$의 값은?"
        )
        why = f"$y = \\frac{{a}}{{x}}$에 $x = {x}$, $y = {y}$를 대입하면 $a = {a}$."
        choices, answer = numeric_choices(rng, a, spread=5)
    else:
        a = rng.choice([-3, -2, 2, 3, Fraction(1, 2), Fraction(-1, 2)])
        x = rng.choice([2, 4] if isinstance(a, Fraction) else [1, 2])
        y = a * x
        figure = FigureSpec(
            "graph",
            {
                "x_range": [-6, 6],
                "y_range": [-7, 7],
                "curves": [{"kind": "linear", "a": float(a), "b": 0}],
                "points": [{"xy": [x, float(y)], "label": "A", "dashed": True}],
                "grid": True,
            },
        )
        stem = (
            "그림과 같이 정비례 관계 $y = ax$의 그래프가 점 "
            f"$\\mathrm{{A}}({x}, {frac(Fraction(y))})$를 지날 때, 상수 $a$의 값은?"
        )
        why = f"$y = ax$에 대입하면 ${frac(Fraction(y))} = {x}a$이므로 $a = {frac(Fraction(a))}$."
        wrong = [f"${frac(Fraction(v))}$" for v in (-a, 2 * a, a + 1, Fraction(1) / a, a - 1)]
        choices, answer = multiple_choice(rng, f"${frac(Fraction(a))}$", wrong, keep_order=True)
    return Draft(
        SUBJECT,
        "중등",
        1,
        "좌표평면과 그래프",
        "[9수03-03]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="easy",
        tags=("정비례", "반비례"),
        figure=figure,
    )


TRIPLES = [(3, 4, 5), (5, 12, 13), (6, 8, 10), (8, 15, 17), (9, 12, 15), (7, 24, 25)]


def pythagoras(rng: Random, topic: str) -> Draft:
    a, b, c = rng.choice(TRIPLES)
    vertices = [(0, 0), (b, 0), (0, a)]
    if topic == "leg":
        sides = [("A", "B", str(b)), ("B", "C", str(c)), ("C", "A", "x")]
        stem = (
            f"그림과 같이 $\\angle \\mathrm{{A}} = 90^\\circ$인 직각삼각형 ABC에서 "
            f"$\\overline{{\\mathrm{{AB}}}} = {b}$, $\\overline{{\\mathrm{{BC}}}} = {c}$일 때, $x$의 값은?"
        )
        answer_value, why = a, f"$x^2 = {c}^2 - {b}^2 = {a * a}$이므로 $x = {a}$."
    else:
        sides = [("A", "B", str(b)), ("C", "A", str(a)), ("B", "C", "x")]
        stem = (
            "그림의 직각삼각형 ABC에서 빗변의 길이 $x$를 구하면? "
            f"(단, $\\overline{{\\mathrm{{AB}}}} = {b}$, $\\overline{{\\mathrm{{AC}}}} = {a}$)"
        )
        answer_value, why = c, f"$$x^2 = {b}^2 + {a}^2 = {c * c}$$이므로 $x = {c}$."
    figure = FigureSpec(
        "polygon",
        {
            "vertices": vertices,
            "labels": ["A", "B", "C"],
            "side_labels": sides,
            "right_angles": [["B", "A", "C"]],
        },
    )
    if topic == "short":
        return Draft(
            SUBJECT,
            "중등",
            2,
            "피타고라스 정리",
            "[9수04-11]",
            stem + " 답만 쓰시오.",
            item_type="short_answer",
            answer=str(answer_value),
            explanation=why,
            difficulty="easy",
            tags=("피타고라스 정리",),
            figure=figure,
        )
    choices, answer = numeric_choices(rng, answer_value, spread=4, positive=True)
    return Draft(
        SUBJECT,
        "중등",
        2,
        "피타고라스 정리",
        "[9수04-11]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("피타고라스 정리", "직각삼각형"),
        figure=figure,
    )


def inscribed_angle(rng: Random, topic: str) -> Draft:
    central = rng.choice([60, 70, 80, 90, 100, 110, 120, 130, 140])
    start = rng.choice([200, 210, 220, 230])
    a_angle = start + rng.choice([140, 150, 160])
    points = [("A", a_angle), ("B", start), ("C", start + central)]
    if topic == "same_arc":
        d_angle = a_angle + rng.choice([25, 35, 45])
        points.append(("D", d_angle))
        figure = FigureSpec(
            "circle",
            {
                "points": points,
                "show_centre": True,
                "segments": [("A", "B"), ("A", "C"), ("D", "B"), ("D", "C")],
                "angle_labels": [(("B", "A", "C"), f"{central // 2}°"), (("B", "D", "C"), "x")],
            },
        )
        stem = (
            f"그림과 같이 원 O 위의 네 점 A, B, C, D에 대하여 $\\angle \\mathrm{{BAC}} = "
            f"{central // 2}^\\circ$일 때, $\\angle x$의 크기는?"
        )
        value, why = central // 2, "한 호에 대한 원주각의 크기는 모두 같으므로 "
        why += f"$\\angle x = {central // 2}^\\circ$."
    else:
        figure = FigureSpec(
            "circle",
            {
                "points": points,
                "segments": [("A", "B"), ("A", "C"), ("O", "B"), ("O", "C")],
                "angle_labels": [(("B", "O", "C"), f"{central}°"), (("B", "A", "C"), "x")],
            },
        )
        stem = (
            f"그림에서 점 O는 원의 중심이고 $\\angle \\mathrm{{BOC}} = {central}^\\circ$일 때, "
            "$\\angle x$의 크기는?"
        )
        value = central // 2
        why = f"원주각의 크기는 중심각의 크기의 $\\frac{{1}}{{2}}$이므로 $\\angle x = {value}^\\circ$."
    wrong = [f"${v}^\\circ$" for v in (value - 10, value + 10, value * 2, value + 5, 180 - value)]
    choices, answer = multiple_choice(rng, f"${value}^\\circ$", wrong, keep_order=True)
    return Draft(
        SUBJECT,
        "중등",
        3,
        "원의 성질",
        "[9수04-15]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("원주각", "중심각"),
        figure=figure,
    )


def polygon_angles(rng: Random, topic: str) -> Draft:
    n = rng.choice([5, 6, 8, 9, 10, 12])
    vertices = [
        (math.cos(2 * math.pi * k / n + math.pi / 2), math.sin(2 * math.pi * k / n + math.pi / 2))
        for k in range(n)
    ]
    labels = [chr(65 + k) for k in range(n)]
    figure = FigureSpec(
        "polygon",
        {
            "vertices": vertices,
            "labels": labels,
            "fill": True,
            "dashed": [("A", labels[2]), ("A", labels[3])],
        },
    )
    if topic == "exterior":
        value = 360 // n if 360 % n == 0 else None
        if value is None:
            n, value = 6, 60
            figure = polygon_angles(Random(n), "interior").figure
        stem = "그림과 같은 정다각형에서 한 외각의 크기는? (꼭짓점은 A부터 차례로 표시하였다.)"
        why = f"정{n}각형의 외각의 크기의 합은 $360^\\circ$이므로 한 외각은 $\\frac{{360^\\circ}}{{{n}}} = {value}^\\circ$."
        wrong = [
            f"${v}^\\circ$" for v in (value + 10, value - 5, 180 - value, value + 20, value * 2)
        ]
        choices, answer = multiple_choice(rng, f"${value}^\\circ$", wrong, keep_order=True)
    else:
        value = 180 * (n - 2)
        stem = "그림과 같은 다각형의 내각의 크기의 합은?"
        why = f"{n}각형은 한 꼭짓점에서 대각선을 그으면 ${n - 2}$개의 삼각형으로 나뉘므로 $180^\\circ \\times {n - 2} = {value}^\\circ$."
        wrong = [
            f"${v}^\\circ$" for v in (value - 180, value + 180, value + 360, value - 360, 180 * n)
        ]
        choices, answer = multiple_choice(rng, f"${value}^\\circ$", wrong, keep_order=True)
    return Draft(
        SUBJECT,
        "중등",
        1,
        "평면도형의 성질",
        "[9수04-05]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="easy",
        tags=("다각형", "내각과 외각"),
        figure=figure,
    )


def similarity(rng: Random, topic: str) -> Draft:
    k = rng.choice([2, 3])
    ad = rng.randint(2, 5)
    ab = ad * k
    bc = rng.choice([6, 9, 12, 15]) if k == 3 else rng.choice([6, 8, 10, 14])
    de = Fraction(bc * ad, ab)
    b_pt, c_pt, a_pt = (0, 0), (8, 0), (2.5, 6)
    t = ad / ab
    d_pt = (a_pt[0] + (b_pt[0] - a_pt[0]) * t, a_pt[1] + (b_pt[1] - a_pt[1]) * t)
    e_pt = (a_pt[0] + (c_pt[0] - a_pt[0]) * t, a_pt[1] + (c_pt[1] - a_pt[1]) * t)
    figure = FigureSpec(
        "polygon",
        {
            "vertices": [a_pt, b_pt, c_pt],
            "labels": ["A", "B", "C"],
            "points": {"D": d_pt, "E": e_pt},
            "segments": [("D", "E")],
            "side_labels": [("B", "C", str(bc)), ("D", "E", "x")],
        },
    )
    stem = (
        "그림의 삼각형 ABC에서 $\\overline{\\mathrm{DE}} \\parallel \\overline{\\mathrm{BC}}$이고 "
        f"$\\overline{{\\mathrm{{AD}}}} = {ad}$, $\\overline{{\\mathrm{{AB}}}} = {ab}$, "
        f"$\\overline{{\\mathrm{{BC}}}} = {bc}$일 때, $x$의 값은?"
    )
    why = f"$\\triangle \\mathrm{{ADE}} \\sim \\triangle \\mathrm{{ABC}}$ (AA 닮음)이므로 ${ad} : {ab} = x : {bc}$, $x = {frac(de)}$."
    wrong = [
        f"${frac(v)}$"
        for v in (de + 1, de - 1, de * 2, Fraction(bc, 2) + 1, de + 2, de + 3, de * 3)
    ]
    choices, answer = multiple_choice(rng, f"${frac(de)}$", wrong, keep_order=True)
    return Draft(
        SUBJECT,
        "중등",
        2,
        "도형의 닮음",
        "[9수04-08]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("닮음", "평행선과 선분의 길이의 비"),
        figure=figure,
    )


def statistics(rng: Random, topic: str) -> Draft:
    if topic == "histogram":
        width = rng.choice([5, 10])
        start = rng.choice([40, 50, 60]) if width == 10 else rng.choice([60, 65, 70])
        freqs = [rng.randint(1, 9) for _ in range(5)]
        edges = [start + width * i for i in range(6)]
        figure = FigureSpec(
            "bar_chart",
            {
                "labels": [""] * 5,
                "values": freqs,
                "gap": 0,
                "edges": edges,
                "colours": False,
                "x_title": "score",
                "y_title": "students",
                "y_max": 10,
                "y_step": 2,
            },
        )
        k = rng.randint(2, 4)
        value = sum(freqs[k:])
        stem = (
            f"그림은 어느 반 학생들의 수학 점수를 조사하여 나타낸 히스토그램이다. 점수가 "
            f"{edges[k]}점 이상인 학생은 모두 몇 명인가?"
        )
        why = f"{edges[k]}점 이상인 계급의 도수를 더하면 ${' + '.join(map(str, freqs[k:]))} = {value}$(명)."
        choices, answer = numeric_choices(rng, value, spread=4, positive=True)
        return Draft(
            SUBJECT,
            "중등",
            1,
            "자료의 정리와 해석",
            "[9수05-01]",
            stem,
            choices=choices,
            answer=answer,
            explanation=why,
            difficulty="easy",
            tags=("히스토그램", "도수분포"),
            figure=figure,
        )
    n = rng.choice([5, 6, 7])
    names = [chr(65 + i) for i in range(n)]
    data = [rng.randint(2, 12) for _ in range(n)]
    if topic == "median":
        figure = FigureSpec(
            "bar_chart",
            {"labels": names, "values": data, "y_max": 14, "y_step": 2, "y_title": "books"},
        )
        ordered = sorted(data)
        median = (
            Fraction(ordered[n // 2])
            if n % 2
            else Fraction(ordered[n // 2 - 1] + ordered[n // 2], 2)
        )
        stem = (
            f"그림은 학생 {n}명 A~{names[-1]}가 한 학기 동안 읽은 책의 수를 나타낸 막대그래프이다. "
            "이 자료의 중앙값은?"
        )
        why = f"자료를 작은 값부터 나열하면 {', '.join(map(str, ordered))}이므로 중앙값은 ${frac(median)}$권."
        wrong = [
            f"${frac(v)}$"
            for v in (
                median + 1,
                median - 1,
                Fraction(sum(data), n).limit_denominator(1) + 2,
                median + 2,
                median - 2,
            )
        ]
        choices, answer = multiple_choice(rng, f"${frac(median)}$", wrong, keep_order=True)
    else:
        total = sum(data)
        data[-1] += (n - total % n) % n
        mean = sum(data) // n
        figure = FigureSpec(
            "table",
            {"rows": [["student", *names], ["hours", *data]], "cell_width": 64, "first_width": 100},
        )
        stem = f"표는 학생 {n}명의 일주일 동안의 운동 시간을 조사한 것이다. 운동 시간의 평균은?"
        why = f"(평균) $= \\frac{{{' + '.join(map(str, data))}}}{{{n}}} = {mean}$(시간)."
        choices, answer = numeric_choices(rng, mean, spread=3, positive=True)
    return Draft(
        SUBJECT,
        "중등",
        1,
        "자료의 정리와 해석",
        "[9수05-01]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="easy",
        tags=("대푯값",),
        figure=figure,
    )


def probability(rng: Random, topic: str) -> Draft:
    if topic == "dice":
        target = rng.choice([4, 5, 6, 7, 8, 9, 10])
        ways = sum(1 for a in range(1, 7) for b in range(1, 7) if a + b == target)
        p = Fraction(ways, 36)
        stem = f"서로 다른 두 개의 주사위를 동시에 던질 때, 나오는 두 눈의 수의 합이 {target}일 확률은?"
        why = f"전체 경우의 수는 $36$, 합이 {target}인 경우는 ${ways}$가지이므로 ${frac(p)}$."
    elif topic == "cards":
        n = rng.choice([10, 12, 15, 20, 30])
        m = rng.choice([3, 4, 5])
        count = n // m
        p = Fraction(count, n)
        stem = (
            f"1부터 {n}까지의 자연수가 하나씩 적힌 {n}장의 카드 중에서 한 장을 뽑을 때, "
            f"{m}의 배수가 적힌 카드가 나올 확률은?"
        )
        why = f"{m}의 배수는 ${count}$개이므로 확률은 $\\frac{{{count}}}{{{n}}} = {frac(p)}$."
    else:
        n = rng.choice([3, 4])
        k = rng.randint(1, n - 1)
        p = Fraction(math.comb(n, k), 2**n)
        stem = f"동전 {n}개를 동시에 던질 때, 앞면이 {k}개만 나올 확률은?"
        why = f"전체 경우의 수 $2^{n} = {2**n}$, 앞면이 {k}개인 경우 ${math.comb(n, k)}$가지이므로 ${frac(p)}$."
    wrong = {
        p + Fraction(1, 36),
        p * 2,
        1 - p,
        p / 2,
        Fraction(1, 6),
        Fraction(1, 4),
        p + Fraction(1, 12),
    }
    wrong_list = sorted(v for v in wrong if 0 < v < 1 and v != p)
    choices, answer = multiple_choice(
        rng, f"${frac(p)}$", [f"${frac(v)}$" for v in wrong_list], keep_order=True
    )
    return Draft(
        SUBJECT,
        "중등",
        2,
        "확률과 그 기본 성질",
        "[9수05-03]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("확률", "경우의 수"),
    )


def exponents(rng: Random, topic: str) -> Draft:
    if topic == "power_of_two":
        base = rng.choice([2, 3])
        a, b, c = rng.randint(2, 5), rng.randint(2, 4), rng.randint(1, 3)
        value = a * b - c
        stem = f"$({base}^{a})^{b} \\div {base}^{c} = {base}^{{\\square}}$일 때, $\\square$ 안에 알맞은 수는?"
        why = f"$({base}^{a})^{b} = {base}^{{{a * b}}}$이고 ${base}^{{{a * b}}} \\div {base}^{c} = {base}^{{{value}}}$."
        choices, answer = numeric_choices(rng, value, spread=4, positive=True)
    else:
        m, n, k = rng.randint(2, 5), rng.randint(2, 4), rng.randint(1, 5)
        coef_a, coef_b = rng.randint(2, 6), rng.randint(2, 5)
        exp = m * n + k - 2
        stem = f"다음 식을 간단히 하면?\n$${coef_a}a^{k} \\times (a^{m})^{n} \\div {coef_b * coef_a}a^2$$"
        why = f"$= \\frac{{{coef_a} a^{{{k + m * n}}}}}{{{coef_b * coef_a} a^2}} = \\frac{{1}}{{{coef_b}}} a^{{{exp}}}$."
        correct = f"$\\frac{{1}}{{{coef_b}}}a^{{{exp}}}$"
        wrong = [
            f"$\\frac{{1}}{{{coef_b}}}a^{{{exp + 1}}}$",
            f"${coef_b}a^{{{exp}}}$",
            f"$\\frac{{1}}{{{coef_b}}}a^{{{m + n + k - 2}}}$",
            f"$\\frac{{1}}{{{coef_b}}}a^{{{exp - 1}}}$",
            f"${coef_b}a^{{{exp + 1}}}$",
            f"$\\frac{{1}}{{{coef_b}}}a^{{{exp + 2}}}$",
        ]
        choices, answer = multiple_choice(rng, correct, wrong)
    return Draft(
        SUBJECT,
        "중등",
        2,
        "단항식의 계산",
        "[9수02-03]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="easy",
        tags=("지수법칙",),
    )


def radicals(rng: Random, topic: str) -> Draft:
    if topic == "rationalize":
        a, b = rng.choice([2, 3, 5, 6, 7]), rng.choice([2, 4, 6, 8, 10, 12])
        g = math.gcd(b, a)
        stem = f"$\\frac{{{b}}}{{\\sqrt{{{a}}}}}$의 분모를 유리화한 것은?"
        num, den = b // g, a // g
        res = (
            f"{num if num != 1 else ''}\\sqrt{{{a}}}"
            if den == 1
            else f"\\frac{{{num}\\sqrt{{{a}}}}}{{{den}}}"
        )
        why = f"분모와 분자에 $\\sqrt{{{a}}}$를 곱하면 $\\frac{{{b}\\sqrt{{{a}}}}}{{{a}}} = {res}$."
        wrong = [
            f"${b}\\sqrt{{{a}}}$",
            f"$\\frac{{\\sqrt{{{a}}}}}{{{b}}}$",
            f"$\\frac{{{b}\\sqrt{{{a}}}}}{{{a * 2}}}$",
            f"${b * a}\\sqrt{{{a}}}$",
        ]
        choices, answer = multiple_choice(rng, f"${res}$", wrong)
    else:
        s = rng.choice([2, 3, 5, 6])
        p, q = rng.sample([2, 3, 4, 5], 2)
        stem = f"$\\sqrt{{{p * p * s}}} + \\sqrt{{{q * q * s}}}$를 간단히 하면?"
        why = f"$\\sqrt{{{p * p * s}}} = {p}\\sqrt{{{s}}}$, $\\sqrt{{{q * q * s}}} = {q}\\sqrt{{{s}}}$이므로 합은 ${p + q}\\sqrt{{{s}}}$."
        wrong = [
            f"${v}\\sqrt{{{s}}}$"
            for v in (p + q + 1, p * q, abs(p - q) or 7, p + q - 1, p + q + 2, p * q + 1, p + q - 2)
        ]
        choices, answer = multiple_choice(rng, f"${p + q}\\sqrt{{{s}}}$", wrong)
    return Draft(
        SUBJECT,
        "중등",
        3,
        "제곱근과 실수",
        "[9수01-07]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("제곱근", "근호"),
    )


def inequality(rng: Random, topic: str) -> Draft:
    a = rng.choice([2, 3, 4, 5])
    bound = rng.randint(-3, 4)
    b = rng.randint(-8, 8)
    c = a * bound + b
    closed = rng.random() < 0.5
    sign, word = ("\\le", "이하") if closed else ("<", "미만")
    figure = FigureSpec(
        "number_line",
        {
            "range": [bound - 4, bound + 4],
            "intervals": [{"from": None, "to": bound, "closed_to": closed}],
        },
    )
    if topic == "count":
        low = bound - rng.randint(2, 5)
        count = sum(1 for x in range(low, bound + 1) if (x <= bound if closed else x < bound))
        stem = (
            f"일차부등식 ${poly([a, b])} {sign} {c}$의 해를 수직선 위에 나타내면 그림과 같다. "
            f"이 부등식을 만족하는 ${low}$ 이상의 정수 $x$의 개수는?"
        )
        why = f"해는 $x {sign} {bound}$이므로 ${low} \\le x {sign} {bound}$인 정수는 {count}개."
        choices, answer = numeric_choices(rng, count, spread=3, positive=True)
    else:
        stem = f"다음 중 일차부등식 ${poly([a, b])} {sign} {c}$의 해를 수직선 위에 바르게 나타낸 것의 설명으로 옳은 것은?"
        correct = f"${bound}${word}인 부분에 색칠한다."
        other = "미만" if closed else "이하"
        wrong = [
            f"${bound}${other}인 부분에 색칠한다.",
            f"${bound}$ 초과인 부분에 색칠한다.",
            f"${bound}$ 이상인 부분에 색칠한다.",
            f"${bound + 1}${word}인 부분에 색칠한다.",
        ]
        choices, answer = multiple_choice(rng, correct, wrong)
        why = f"${a}x {sign} {c - b}$에서 $x {sign} {bound}$."
    return Draft(
        SUBJECT,
        "중등",
        2,
        "일차부등식",
        "[9수02-10]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="easy",
        tags=("일차부등식", "수직선"),
        figure=figure,
    )


def fraction_arithmetic(rng: Random, topic: str) -> Draft:
    x = y = Fraction(0)
    while x == y:
        d1, d2 = rng.sample([2, 3, 4, 5, 6, 8, 9, 10, 12], 2)
        n1, n2 = rng.randint(1, d1 - 1), rng.randint(1, d2 - 1)
        x, y = Fraction(n1, d1), Fraction(n2, d2)
    op = "+" if topic == "add" else "-"
    if op == "-" and x < y:
        x, y = y, x
        n1, d1, n2, d2 = n2, d2, n1, d1
    result = x + y if op == "+" else x - y
    stem = f"다음을 계산하시오.\n$$\\frac{{{n1}}}{{{d1}}} {op} \\frac{{{n2}}}{{{d2}}}$$"
    lcm = d1 * d2 // math.gcd(d1, d2)
    why = f"분모를 ${lcm}$로 통분하여 계산하면 ${frac(result)}$이다."
    return Draft(
        SUBJECT,
        "초등",
        5,
        "분수의 덧셈과 뺄셈",
        "[6수01-10]",
        stem,
        item_type="short_answer",
        answer=f"${frac(result)}$",
        explanation=why,
        difficulty="easy",
        tags=("분수", "통분"),
    )


def area(rng: Random, topic: str) -> Draft:
    base, height = rng.randint(4, 12), rng.randint(3, 9)
    if topic == "trapezoid":
        top = rng.randint(2, base - 1)
        vertices = [(0, 0), (base, 0), (top + 1, height), (1, height)]
        value = Fraction((base + top) * height, 2)
        sides = [("A", "B", f"{base} cm"), ("D", "C", f"{top} cm")]
        stem = f"그림과 같은 사다리꼴의 넓이는 몇 $\\mathrm{{cm^2}}$인가? (단, 높이는 ${height}\\,\\mathrm{{cm}}$이다.)"
        why = f"(사다리꼴의 넓이) $= ({base} + {top}) \\times {height} \\div 2 = {frac(value)}$"
    else:
        shift = rng.randint(1, 3)
        vertices = [(0, 0), (base, 0), (base + shift, height), (shift, height)]
        value = Fraction(base * height)
        sides = [("A", "B", f"{base} cm")]
        stem = f"그림과 같은 평행사변형의 넓이는 몇 $\\mathrm{{cm^2}}$인가? (단, 높이는 ${height}\\,\\mathrm{{cm}}$이다.)"
        why = f"(평행사변형의 넓이) $=$ (밑변) $\\times$ (높이) $= {base} \\times {height} = {frac(value)}$"
    figure = FigureSpec(
        "polygon",
        {
            "vertices": vertices,
            "labels": ["A", "B", "C", "D"],
            "side_labels": sides,
            "points": {"H": (vertices[3][0], 0)},
            "dashed": [("D", "H")],
            "right_angles": [["D", "H", "B"]],
        },
    )
    choices, answer = numeric_choices(rng, int(value), spread=6, positive=True)
    return Draft(
        SUBJECT,
        "초등",
        5,
        "다각형의 둘레와 넓이",
        "[6수03-12]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="easy",
        tags=("넓이", "사각형"),
        figure=figure,
    )


def sequence(rng: Random, topic: str) -> Draft:
    a1 = rng.randint(-5, 9)
    if topic == "geometric":
        r = rng.choice([2, 3, -2])
        n = rng.randint(5, 7)
        a1 = rng.choice([1, 2, 3])
        value = a1 * r ** (n - 1)
        stem = f"첫째항이 ${a1}$, 공비가 ${r}$인 등비수열 $\\{{a_n\\}}$에서 $a_{n}$의 값은?"
        why = f"$a_n = {a1} \\times ({r})^{{n-1}}$이므로 $a_{n} = {value}$."
        wrong = [f"${v}$" for v in (value * r, value // r, -value, value + a1, value * 2)]
        choices, answer = multiple_choice(rng, f"${value}$", wrong, keep_order=True)
    else:
        d = rng.choice([n for n in range(-4, 6) if n])
        p, q = rng.randint(2, 4), rng.randint(6, 9)
        n = rng.randint(10, 20)
        value = a1 + (n - 1) * d
        stem = (
            f"등차수열 $\\{{a_n\\}}$에서 $a_{p} = {a1 + (p - 1) * d}$, $a_{q} = {a1 + (q - 1) * d}$일 때, "
            f"$a_{{{n}}}$의 값은?"
        )
        why = f"공차 $d = \\frac{{a_{q} - a_{p}}}{{{q - p}}} = {d}$, 첫째항은 ${a1}$이므로 $a_{{{n}}} = {value}$."
        choices, answer = numeric_choices(rng, value, spread=6)
    return Draft(
        SUBJECT,
        "고등",
        2,
        "수열",
        "[12수학I03-02]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("수열", "등차수열" if topic != "geometric" else "등비수열"),
    )


def logarithm(rng: Random, topic: str) -> Draft:
    base = rng.choice([2, 3, 5])
    if topic == "equation":
        k = rng.randint(1, 4)
        c = rng.randint(-3, 6)
        value = base**k - c
        stem = f"방정식 $\\log_{{{base}}}(x {'+' if c >= 0 else '-'} {abs(c)}) = {k}$의 해는?"
        why = f"로그의 정의에 의하여 $x {'+' if c >= 0 else '-'} {abs(c)} = {base}^{k} = {base**k}$, $x = {value}$."
        choices, answer = numeric_choices(rng, value, spread=5)
    else:
        m, n = rng.randint(1, 4), rng.randint(1, 3)
        value = m - n
        stem = f"$\\log_{{{base}}} {base**m * 7} - \\log_{{{base}}} {base**n * 7}$의 값은?"
        why = f"$\\log_{{{base}}} \\frac{{{base**m * 7}}}{{{base**n * 7}}} = \\log_{{{base}}} {base}^{{{value}}} = {value}$."
        choices, answer = numeric_choices(rng, value, spread=3)
    return Draft(
        SUBJECT,
        "고등",
        2,
        "지수함수와 로그함수",
        "[12수학I01-04]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="easy",
        tags=("로그",),
    )


def derivative(rng: Random, topic: str) -> Draft:
    a, b, c = rng.choice([1, 2]), rng.randint(-6, 6), rng.randint(-5, 5)
    if topic == "tangent":
        x0 = rng.randint(-2, 3)
        slope = 3 * a * x0 * x0 + 2 * b * x0 + c
        stem = f"곡선 $y = {poly([a, b, c, rng.randint(-4, 4)])}$ 위의 점 $x = {x0}$에서의 접선의 기울기는?"
        why = f"$y' = {poly([3 * a, 2 * b, c])}$에 $x = {x0}$을 대입하면 ${slope}$."
        choices, answer = numeric_choices(rng, slope, spread=6)
        return Draft(
            SUBJECT,
            "고등",
            2,
            "미분",
            "[12수학II02-06]",
            stem,
            choices=choices,
            answer=answer,
            explanation=why,
            difficulty="medium",
            tags=("미분계수", "접선"),
        )
    p, q = sorted(rng.sample(range(-3, 4), 2))
    coeffs = [2, -3 * (p + q), 6 * p * q, rng.randint(-5, 5)]
    stem = (
        f"함수 $f(x) = {poly(coeffs)}$의 극댓값과 극솟값을 구하는 과정을 서술하시오. "
        "(도함수를 구하고, 증가와 감소를 표로 나타내어 설명할 것)"
    )
    fp = lambda t: 2 * t**3 - 3 * (p + q) * t**2 + 6 * p * q * t + coeffs[3]  # noqa: E731
    why = (
        f"$f'(x) = 6(x {'-' if p >= 0 else '+'} {abs(p)})(x {'-' if q >= 0 else '+'} {abs(q)})$이므로 "
        f"$x = {p}$에서 극댓값 ${fp(p)}$, $x = {q}$에서 극솟값 ${fp(q)}$을 갖는다."
    )
    return Draft(
        SUBJECT,
        "고등",
        2,
        "미분",
        "[12수학II02-09]",
        stem,
        item_type="essay",
        answer=f"극댓값 {fp(p)}, 극솟값 {fp(q)}",
        explanation=why,
        difficulty="hard",
        tags=("극값", "서술형"),
    )


TEMPLATES = [
    Template("math.linear_equation", SUBJECT, linear_equation, ("basic", "both_sides", "fraction")),
    Template("math.simultaneous", SUBJECT, simultaneous, ("solve", "word")),
    Template(
        "math.quadratic_equation",
        SUBJECT,
        quadratic_equation,
        ("factor", "formula", "discriminant"),
    ),
    Template(
        "math.linear_function",
        SUBJECT,
        linear_function,
        ("slope", "equation", "intersection"),
        weight=1.5,
    ),
    Template("math.quadratic_function", SUBJECT, quadratic_function, ("vertex", "extremum"), 1.5),
    Template("math.proportion", SUBJECT, proportion, ("direct", "inverse")),
    Template("math.pythagoras", SUBJECT, pythagoras, ("hypotenuse", "leg", "short"), weight=1.5),
    Template("math.inscribed_angle", SUBJECT, inscribed_angle, ("central", "same_arc"), 1.5),
    Template("math.polygon_angles", SUBJECT, polygon_angles, ("interior", "exterior")),
    Template("math.similarity", SUBJECT, similarity, ("parallel",), weight=1.5),
    Template("math.statistics", SUBJECT, statistics, ("mean", "median", "histogram"), 1.5),
    Template("math.probability", SUBJECT, probability, ("dice", "cards", "coins")),
    Template("math.exponents", SUBJECT, exponents, ("simplify", "power_of_two")),
    Template("math.radicals", SUBJECT, radicals, ("simplify", "rationalize")),
    Template("math.inequality", SUBJECT, inequality, ("solve", "count"), weight=1.2),
    Template("math.fraction_arithmetic", SUBJECT, fraction_arithmetic, ("add", "subtract")),
    Template("math.area", SUBJECT, area, ("parallelogram", "trapezoid")),
    Template("math.sequence", SUBJECT, sequence, ("arithmetic", "geometric")),
    Template("math.logarithm", SUBJECT, logarithm, ("evaluate", "equation")),
    Template("math.derivative", SUBJECT, derivative, ("tangent", "extremum")),
]
