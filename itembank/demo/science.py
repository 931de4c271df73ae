# ruff: noqa: E501 -- item templates hold long Korean and LaTeX sentences; splitting them hurts reading.
"""Science templates: physics, chemistry, biology and earth science, middle and high school."""

from __future__ import annotations

from fractions import Fraction
from random import Random

from .base import Draft, FigureSpec, Template, frac, multiple_choice, numeric_choices

SUBJECT = "과학"


def ohms_law(rng: Random, topic: str) -> Draft:
    r1, r2 = rng.choice([(2, 4), (3, 6), (4, 4), (2, 6), (6, 12), (3, 3)])
    if topic == "parallel":
        total = Fraction(r1 * r2, r1 + r2)
        voltage = int(total * rng.choice([2, 3, 4])) if total.denominator == 1 else r1 * r2
        current = Fraction(voltage) / total
        layout = "parallel"
        stem = (
            f"그림과 같이 저항값이 각각 $R_1 = {r1}\\,\\Omega$, $R_2 = {r2}\\,\\Omega$인 두 저항을 "
            f"병렬로 연결하고 전압이 ${voltage}\\,\\mathrm{{V}}$인 전원 장치에 연결하였다. "
            "전류계에 흐르는 전류의 세기는?"
        )
        why = (
            f"합성 저항 $$R = \\frac{{R_1 R_2}}{{R_1 + R_2}} = {frac(total)}\\,\\Omega$$이므로 "
            f"$I = \\frac{{V}}{{R}} = {frac(current)}\\,\\mathrm{{A}}$."
        )
    else:
        total = Fraction(r1 + r2)
        current = Fraction(rng.choice([1, 2, 3]))
        voltage = int(total * current)
        layout = "series"
        stem = (
            f"그림과 같이 $R_1 = {r1}\\,\\Omega$, $R_2 = {r2}\\,\\Omega$인 두 저항을 직렬로 연결하고 "
            f"${voltage}\\,\\mathrm{{V}}$의 전압을 걸었다. 회로에 흐르는 전류의 세기는?"
        )
        why = f"직렬 연결의 합성 저항은 ${r1 + r2}\\,\\Omega$이므로 $I = \\frac{{{voltage}}}{{{r1 + r2}}} = {frac(current)}\\,\\mathrm{{A}}$."
    figure = FigureSpec(
        "circuit",
        {
            "resistors": ["R1", "R2"],
            "layout": layout,
            "battery": f"{voltage} V",
            "voltmeter": topic == "series",
        },
    )
    wrong = [
        f"${frac(v)}\\,\\mathrm{{A}}$"
        for v in (
            current * 2,
            current / 2,
            current + 1,
            Fraction(voltage, r1),
            current + 2,
            current * 3,
            current + 3,
        )
    ]
    choices, answer = multiple_choice(
        rng, f"${frac(current)}\\,\\mathrm{{A}}$", wrong, keep_order=True
    )
    return Draft(
        SUBJECT,
        "중등",
        2,
        "전기와 자기",
        "[9과05-02]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("옴의 법칙", "전기 회로"),
        figure=figure,
    )


def heating_curve(rng: Random, topic: str) -> Draft:
    substance, melt = rng.choice([("X", 0), ("Y", 20), ("Z", 40)])
    start = melt - rng.choice([20, 30])
    times = list(range(0, 13, 2))
    plateau = rng.choice([(2, 6), (4, 8), (2, 8)])
    temps = []
    for t in times:
        if t <= plateau[0]:
            temps.append(start + (melt - start) * t / plateau[0])
        elif t <= plateau[1]:
            temps.append(melt)
        else:
            temps.append(melt + (t - plateau[1]) * 8)
    figure = FigureSpec(
        "line_chart",
        {
            "x": times,
            "y": [round(v, 1) for v in temps],
            "y_range": [start - 10, melt + 50],
            "y_step": 10,
            "x_step": 2,
            "x_max": 12,
            "x_title": "time (min)",
            "y_title": "T (°C)",
            "marks": {"A": (plateau[0], melt), "B": (plateau[1], melt)},
        },
    )
    if topic == "state":
        stem = (
            f"그림은 고체 물질 {substance}를 가열하면서 시간에 따른 온도를 측정한 결과이다. "
            "구간 AB에 대한 설명으로 옳은 것은?"
        )
        correct = "고체와 액체가 함께 존재한다."
        wrong = [
            "물질이 모두 기체 상태이다.",
            "가해 준 열이 온도를 높이는 데 쓰인다.",
            "분자 사이의 거리가 일정하게 유지된다.",
            "물질의 질량이 감소한다.",
            "분자 운동이 점점 느려진다.",
        ]
        choices, answer = multiple_choice(rng, correct, wrong)
        why = "AB 구간에서는 가해 준 열이 상태 변화(융해)에 쓰이므로 온도가 일정하고, 고체와 액체가 함께 존재한다."
    else:
        stem = (
            f"그림은 물질 {substance}의 가열 곡선이다. 물질 {substance}의 녹는점은 몇 "
            "$^\\circ\\mathrm{C}$인가?"
        )
        choices, answer = multiple_choice(
            rng,
            f"${melt}$",
            [f"${v}$" for v in (start, melt + 10, melt - 10, melt + 20, melt + 40)],
            keep_order=True,
        )
        why = f"온도가 일정하게 유지되는 구간의 온도 ${melt}\\,^\\circ\\mathrm{{C}}$가 녹는점이다."
    return Draft(
        SUBJECT,
        "중등",
        1,
        "물질의 상태 변화",
        "[9과04-03]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="easy",
        tags=("상태 변화", "가열 곡선"),
        figure=figure,
    )


def solubility(rng: Random, topic: str) -> Draft:
    temps = [0, 20, 40, 60, 80]
    base = rng.choice([12, 20, 30])
    growth = rng.choice([6, 9, 12, 16])
    values = [base + growth * i + (i * i * 2 if rng.random() < 0.5 else 0) for i in range(5)]
    figure = FigureSpec(
        "bar_chart",
        {
            "labels": [str(t) for t in temps],
            "values": values,
            "x_title": "temperature (°C)",
            "y_title": "g / 100 g water",
        },
    )
    hot, cold = rng.sample(range(2, 5), 1)[0], rng.randint(0, 1)
    crystal = values[hot] - values[cold]
    stem = (
        f"그림은 온도에 따른 물질 A의 용해도(물 $100\\,\\mathrm{{g}}$에 최대로 녹는 양)를 나타낸 것이다. "
        f"${temps[hot]}\\,^\\circ\\mathrm{{C}}$의 물 $100\\,\\mathrm{{g}}$에 A를 최대로 녹인 용액을 "
        f"${temps[cold]}\\,^\\circ\\mathrm{{C}}$로 냉각할 때 석출되는 A의 질량은?"
    )
    if topic == "half":
        stem = stem.replace("$100\\,\\mathrm{g}$에 A를", "$200\\,\\mathrm{g}$에 A를")
        crystal *= 2
    why = f"석출량 $= ({values[hot]} - {values[cold]}) \\times \\frac{{\\text{{물의 양}}}}{{100}} = {crystal}\\,\\mathrm{{g}}$."
    choices, answer = multiple_choice(
        rng,
        f"${crystal}\\,\\mathrm{{g}}$",
        [f"${crystal + d}\\,\\mathrm{{g}}$" for d in (-20, -10, 10, 20, 5)],
        keep_order=True,
    )
    return Draft(
        SUBJECT,
        "중등",
        2,
        "물질의 특성",
        "[9과10-03]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("용해도", "석출"),
        figure=figure,
    )


REACTIONS = [
    ("\\mathrm{2H_2 + O_2 \\rightarrow 2H_2O}", "물의 생성", "\\mathrm{H_2O}"),
    ("\\mathrm{CH_4 + 2O_2 \\rightarrow CO_2 + 2H_2O}", "메테인의 연소", "\\mathrm{CO_2}"),
    ("\\mathrm{2Mg + O_2 \\rightarrow 2MgO}", "마그네슘의 연소", "\\mathrm{MgO}"),
    ("\\mathrm{N_2 + 3H_2 \\rightarrow 2NH_3}", "암모니아 생성", "\\mathrm{NH_3}"),
    ("\\mathrm{2H_2O_2 \\rightarrow 2H_2O + O_2}", "과산화 수소의 분해", "\\mathrm{O_2}"),
    ("\\mathrm{CaCO_3 \\rightarrow CaO + CO_2}", "탄산 칼슘의 열분해", "\\mathrm{CO_2}"),
    ("\\mathrm{Zn + 2HCl \\rightarrow ZnCl_2 + H_2}", "아연과 염산의 반응", "\\mathrm{H_2}"),
]


def chemical_equation(rng: Random, topic: str) -> Draft:
    equation, name, product = REACTIONS[0 if topic == "mass" else int(topic)]
    if topic == "mass":
        a = rng.choice([3, 4, 6, 8, 12])
        b = rng.choice([2, 4, 8])
        rows = [["reactant", "mass (g)"], ["A", str(a)], ["B", str(b)], ["product", "?"]]
        figure = FigureSpec("table", {"rows": rows, "cell_width": 120, "first_width": 120})
        stem = (
            "표는 물질 A와 B가 완전히 반응하여 새로운 물질이 생성될 때 반응 전 물질의 질량을 "
            "나타낸 것이다. 남는 물질이 없을 때 생성된 물질의 질량은? "
            f"(반응 예: $${equation}$$)"
        )
        choices, answer = numeric_choices(rng, a + b, spread=4, positive=True)
        why = "질량 보존 법칙에 따라 반응 전 물질의 질량 합과 생성물의 질량은 같다."
        return Draft(
            SUBJECT,
            "중등",
            2,
            "화학 반응의 규칙과 에너지 변화",
            "[9과12-02]",
            stem,
            choices=choices,
            answer=answer,
            explanation=why,
            difficulty="easy",
            tags=("질량 보존 법칙",),
            figure=figure,
        )
    frame = rng.choice(["이에 대한 설명으로 옳은 것은?", "이 반응에 대한 설명으로 옳은 것은?"])
    stem = f"다음은 {name}을(를) 화학 반응식으로 나타낸 것이다.\n$${equation}$$\n{frame}"
    correct = f"생성물 중에는 ${product}$가 있다."
    wrong = [
        "반응 전후 원자의 종류가 달라진다.",
        "반응 전후 원자의 개수가 달라진다.",
        "반응물의 질량 합이 생성물의 질량 합보다 크다.",
        "계수비는 질량비와 항상 같다.",
        "분자의 종류는 반응 전후에 변하지 않는다.",
    ]
    rng.shuffle(wrong)
    choices, answer = multiple_choice(rng, correct, wrong)
    why = f"화학 반응식 ${equation}$에서 반응 전후 원자의 종류와 개수는 보존되며 생성물은 ${product}$ 등이다."
    return Draft(
        SUBJECT,
        "중등",
        2,
        "화학 반응의 규칙과 에너지 변화",
        "[9과12-01]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("화학 반응식",),
    )


def motion(rng: Random, topic: str) -> Draft:
    if topic == "incline":
        angle = rng.choice([30, 37, 45, 53, 60])
        mass = rng.choice([1, 2, 3, 4, 5])
        sin = {30: Fraction(1, 2), 37: Fraction(3, 5), 45: None, 53: Fraction(4, 5), 60: None}[
            angle
        ]
        if sin is None:
            angle, sin = 30, Fraction(1, 2)
        g = 10
        force = mass * g * sin
        figure = FigureSpec("incline", {"angle": angle, "label": f"{mass} kg", "show_weight": True})
        stem = (
            f"그림과 같이 경사각이 ${angle}^\\circ$인 마찰이 없는 빗면 위에 질량 ${mass}\\,\\mathrm{{kg}}$인 "
            "물체가 놓여 있다. 물체에 작용하는 빗면 방향의 알짜힘의 크기는? "
            f"(단, 중력 가속도는 $10\\,\\mathrm{{m/s^2}}$, $\\sin {angle}^\\circ = {frac(sin)}$이다.)"
        )
        why = f"$F = mg\\sin\\theta = {mass} \\times 10 \\times {frac(sin)} = {frac(force)}\\,\\mathrm{{N}}$."
        wrong = [
            f"${frac(v)}\\,\\mathrm{{N}}$"
            for v in (force * 2, force / 2, mass * g, force + 5, force + 10, force * 3, force + 15)
        ]
        choices, answer = multiple_choice(
            rng, f"${frac(force)}\\,\\mathrm{{N}}$", wrong, keep_order=True
        )
        return Draft(
            SUBJECT,
            "고등",
            1,
            "힘과 운동",
            "[10통과05-01]",
            stem,
            choices=choices,
            answer=answer,
            explanation=why,
            difficulty="hard",
            tags=("빗면", "알짜힘"),
            figure=figure,
        )
    v0 = rng.choice([0, 2, 4])
    acc = rng.choice([1, 2, 3])
    t = rng.choice([3, 4, 5])
    times = list(range(0, 7))
    speeds = [v0 + acc * s for s in times]
    figure = FigureSpec(
        "line_chart",
        {
            "x": times,
            "y": speeds,
            "y_range": [0, max(speeds) + 4],
            "y_step": 2 if max(speeds) < 16 else 4,
            "x_step": 1,
            "x_max": 6,
            "x_title": "t (s)",
            "y_title": "v (m/s)",
        },
    )
    distance = v0 * t + Fraction(acc * t * t, 2)
    stem = (
        "그림은 직선 위를 운동하는 물체의 속력을 시간에 따라 나타낸 것이다. "
        f"$0$초부터 ${t}$초까지 물체가 이동한 거리는?"
    )
    why = f"속력-시간 그래프 아래 넓이가 이동 거리이므로 $$s = {v0} \\times {t} + \\frac{{1}}{{2}} \\times {acc} \\times {t}^2 = {frac(distance)}\\,\\mathrm{{m}}$$"
    wrong = [
        f"${frac(v)}\\,\\mathrm{{m}}$"
        for v in (
            distance + 4,
            distance - 2,
            distance * 2,
            Fraction(speeds[t] * t),
            distance + 8,
            distance + 2,
            distance + 12,
        )
    ]
    choices, answer = multiple_choice(
        rng, f"${frac(distance)}\\,\\mathrm{{m}}$", wrong, keep_order=True
    )
    return Draft(
        SUBJECT,
        "중등",
        3,
        "운동과 에너지",
        "[9과17-01]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("등가속도 운동", "속력-시간 그래프"),
        figure=figure,
    )


def spring(rng: Random, topic: str) -> Draft:
    k = rng.choice([2, 4, 5, 10])  # cm per 100 g
    masses = [100, 200, 300]
    lengths = [60 + k * 3 * (i + 1) for i in range(3)]
    figure = FigureSpec("spring", {"labels": [f"{m} g" for m in masses], "lengths": lengths})
    target = rng.choice([400, 500, 600])
    value = k * target // 100
    stem = (
        "그림은 같은 용수철에 질량이 다른 추를 매달았을 때의 모습이다. 용수철이 늘어난 길이는 "
        f"추의 질량에 비례하며 $100\\,\\mathrm{{g}}$당 ${k}\\,\\mathrm{{cm}}$씩 늘어난다. "
        f"${target}\\,\\mathrm{{g}}$의 추를 매달면 용수철은 몇 $\\mathrm{{cm}}$ 늘어나는가?"
    )
    if topic == "weight":
        stem = stem.replace(
            "몇 $\\mathrm{cm}$ 늘어나는가?",
            "늘어난 길이는 몇 $\\mathrm{cm}$인가? (단, 탄성 한계 안에서 실험한다.)",
        )
    why = f"늘어난 길이는 질량에 비례하므로 ${k} \\times \\frac{{{target}}}{{100}} = {value}\\,\\mathrm{{cm}}$."
    choices, answer = numeric_choices(rng, value, spread=5, positive=True)
    return Draft(
        SUBJECT,
        "중등",
        1,
        "여러 가지 힘",
        "[9과02-02]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="easy",
        tags=("탄성력", "훅의 법칙"),
        figure=figure,
    )


ORGANS = [
    ("소화계", "위", "단백질을 분해하는 펩신이 작용한다."),
    ("소화계", "소장", "융털을 통해 영양소를 흡수한다."),
    ("순환계", "심장", "혈액을 온몸으로 내보낸다."),
    ("호흡계", "폐", "폐포에서 산소와 이산화 탄소의 교환이 일어난다."),
    ("배설계", "콩팥", "혈액 속의 노폐물을 걸러 오줌을 만든다."),
    ("신경계", "소뇌", "몸의 균형을 유지한다."),
    ("내분비계", "이자", "인슐린과 글루카곤을 분비한다."),
]


def biology(rng: Random, topic: str) -> Draft:
    if topic == "photosynthesis":
        gas, light = rng.choice([("산소", "밝은"), ("산소", "강한")])
        stem = (
            f"검정말을 넣은 시험관에 {light} 빛을 비추었더니 기포가 발생하였다. 이 기포에 대한 "
            "설명으로 옳은 것은? (광합성: $$\\mathrm{6CO_2 + 6H_2O \\rightarrow C_6H_{12}O_6 + 6O_2}$$)"
        )
        correct = f"기포의 주성분은 {gas}이다."
        wrong = [
            "기포의 주성분은 이산화 탄소이다.",
            "빛이 없을 때 더 많이 발생한다.",
            "호흡 결과 발생한 기체이다.",
            "수온과 관계없이 항상 일정하다.",
            "엽록체가 없는 세포에서 만들어진다.",
        ]
        choices, answer = multiple_choice(rng, correct, wrong)
        return Draft(
            SUBJECT,
            "중등",
            2,
            "식물과 에너지",
            "[9과08-02]",
            stem,
            choices=choices,
            answer=answer,
            explanation="광합성 결과 산소가 발생하며, 빛의 세기가 셀수록 많이 발생한다.",
            difficulty="easy",
            tags=("광합성",),
        )
    system, organ, role = next(entry for entry in ORGANS if entry[1] == topic)
    stem = rng.choice(
        [
            f"사람의 {system}에 속하는 기관 중 '{organ}'의 기능으로 옳은 것은?",
            f"다음 중 {organ}이(가) 하는 일로 가장 적절한 것은? ({system})",
        ]
    )
    others = [r for s, o, r in ORGANS if o != organ]
    rng.shuffle(others)
    choices, answer = multiple_choice(rng, role, others)
    return Draft(
        SUBJECT,
        "중등",
        2,
        "동물과 에너지",
        "[9과09-01]",
        stem,
        choices=choices,
        answer=answer,
        explanation=f"{organ}은(는) {role[:-1]}는 역할을 한다.".replace("다.는", "다는"),
        difficulty="easy",
        tags=(system, organ),
    )


PLANETS = [
    ("Mercury", 0.39, 88),
    ("Venus", 0.72, 225),
    ("Earth", 1.0, 365),
    ("Mars", 1.52, 687),
    ("Jupiter", 5.2, 4333),
]


def earth_science(rng: Random, topic: str) -> Draft:
    if topic == "planets":
        chosen = rng.sample(PLANETS, 4)
        rows = [["planet", "distance (AU)", "period (day)"]] + [
            [n, str(d), str(p)] for n, d, p in chosen
        ]
        figure = FigureSpec("table", {"rows": rows, "cell_width": 140, "first_width": 110})
        far = max(chosen, key=lambda r: r[1])[0]
        stem = "표는 태양계 행성 네 개의 태양으로부터의 평균 거리와 공전 주기를 나타낸 것이다. 공전 주기가 가장 긴 행성은?"
        choices, answer = multiple_choice(rng, far, [n for n, _, _ in PLANETS if n != far])
        return Draft(
            SUBJECT,
            "중등",
            3,
            "태양계",
            "[9과13-03]",
            stem,
            choices=choices,
            answer=answer,
            explanation="태양으로부터 멀수록 공전 주기가 길다.",
            difficulty="easy",
            tags=("태양계", "행성"),
            figure=figure,
        )
    humidity_temp = rng.choice([(10, 9.4), (15, 12.8), (20, 17.3), (25, 23.0), (30, 30.4)])
    temp, saturated = humidity_temp
    vapour = round(saturated * rng.choice([0.4, 0.5, 0.6, 0.8]), 1)
    rh = round(vapour / saturated * 100)
    rows = [
        ["T (°C)", "10", "15", "20", "25", "30"],
        ["g/kg", "9.4", "12.8", "17.3", "23.0", "30.4"],
    ]
    figure = FigureSpec("table", {"rows": rows, "cell_width": 80, "first_width": 90})
    stem = (
        f"표는 기온에 따른 포화 수증기량을 나타낸 것이다. 기온이 ${temp}\\,^\\circ\\mathrm{{C}}$이고 "
        f"실제 수증기량이 ${vapour}\\,\\mathrm{{g/kg}}$인 공기의 상대 습도는 약 몇 %인가?"
    )
    why = f"상대 습도 $= \\frac{{{vapour}}}{{{saturated}}} \\times 100 \\approx {rh}\\,\\%$."
    choices, answer = multiple_choice(
        rng, f"${rh}$", [f"${v}$" for v in (rh - 20, rh - 10, rh + 10, rh + 20)], keep_order=True
    )
    return Draft(
        SUBJECT,
        "중등",
        2,
        "기권과 날씨",
        "[9과15-02]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("상대 습도", "포화 수증기량"),
        figure=figure,
    )


def density(rng: Random, topic: str) -> Draft:
    mass = rng.choice([27, 54, 79, 112, 156])
    volume = rng.choice([10, 20, 5, 4])
    d = Fraction(mass, volume)
    if topic == "short":
        stem = (
            f"질량이 ${mass}\\,\\mathrm{{g}}$이고 부피가 ${volume}\\,\\mathrm{{cm^3}}$인 물체의 밀도를 "
            "구하고, 그 풀이 과정을 서술하시오."
        )
        return Draft(
            SUBJECT,
            "중등",
            2,
            "물질의 특성",
            "[9과10-01]",
            stem,
            item_type="essay",
            answer=f"${frac(d)}\\,\\mathrm{{g/cm^3}}$",
            explanation=f"밀도 $= \\frac{{\\text{{질량}}}}{{\\text{{부피}}}} = \\frac{{{mass}}}{{{volume}}} = {frac(d)}\\,\\mathrm{{g/cm^3}}$",
            difficulty="easy",
            tags=("밀도", "서술형"),
        )
    stem = f"질량이 ${mass}\\,\\mathrm{{g}}$, 부피가 ${volume}\\,\\mathrm{{cm^3}}$인 금속 조각의 밀도는?"
    wrong = [
        f"${frac(v)}\\,\\mathrm{{g/cm^3}}$"
        for v in (d * 2, d / 2, Fraction(volume, mass), d + 1, d + 2)
    ]
    choices, answer = multiple_choice(
        rng, f"${frac(d)}\\,\\mathrm{{g/cm^3}}$", wrong, keep_order=True
    )
    return Draft(
        SUBJECT,
        "중등",
        2,
        "물질의 특성",
        "[9과10-01]",
        stem,
        choices=choices,
        answer=answer,
        explanation=f"$\\rho = \\frac{{m}}{{V}} = {frac(d)}\\,\\mathrm{{g/cm^3}}$.",
        difficulty="easy",
        tags=("밀도",),
    )


def genetics(rng: Random, topic: str) -> Draft:
    trait, dom, rec = rng.choice(
        [
            ("완두의 모양", "둥근", "주름진"),
            ("완두의 색", "노란색", "초록색"),
            ("꽃의 색", "보라색", "흰색"),
        ]
    )
    total = rng.choice([400, 800, 1200, 1600])
    if topic == "testcross":
        stem = (
            f"{trait}이 {dom}(Rr)인 개체를 {rec}(rr) 개체와 교배하여 자손 {total}개를 얻었다. "
            f"이론상 {rec} 자손의 수는?"
        )
        value = total // 2
        why = "Rr × rr의 자손은 Rr : rr = 1 : 1이므로 절반이다."
    else:
        stem = (
            f"순종의 {dom} 개체와 {rec} 개체를 교배하여 얻은 잡종 1대(Rr)를 자가 수분하여 "
            f"잡종 2대 {total}개를 얻었다. 이론상 {dom} 개체의 수는?"
        )
        value = total * 3 // 4
        why = "$\\mathrm{Rr \\times Rr}$에서 표현형의 비는 우성 : 열성 $= 3 : 1$이다."
    choices, answer = multiple_choice(
        rng,
        f"${value}$",
        [f"${total * k // 8}$" for k in (1, 2, 3, 5, 7) if total * k // 8 != value],
        keep_order=True,
    )
    return Draft(
        SUBJECT,
        "중등",
        3,
        "생식과 유전",
        "[9과19-03]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("멘델의 유전", "분리의 법칙"),
    )


TEMPLATES = [
    Template("science.ohms_law", SUBJECT, ohms_law, ("series", "parallel"), weight=1.5),
    Template("science.heating_curve", SUBJECT, heating_curve, ("state", "melting_point"), 1.5),
    Template("science.solubility", SUBJECT, solubility, ("full", "half"), weight=1.2),
    Template(
        "science.chemical_equation",
        SUBJECT,
        chemical_equation,
        (*(str(i) for i in range(len(REACTIONS))), "mass"),
        1.2,
    ),
    Template("science.motion", SUBJECT, motion, ("graph", "incline"), weight=1.5),
    Template("science.spring", SUBJECT, spring, ("stretch", "weight")),
    Template(
        "science.biology", SUBJECT, biology, (*(organ for _, organ, _ in ORGANS), "photosynthesis")
    ),
    Template("science.earth", SUBJECT, earth_science, ("humidity", "planets")),
    Template("science.density", SUBJECT, density, ("choice", "short")),
    Template("science.genetics", SUBJECT, genetics, ("f2", "testcross")),
]
