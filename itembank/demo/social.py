# ruff: noqa: E501 -- item templates hold long Korean and LaTeX sentences; splitting them hurts reading.
"""사회 templates: geography (with climate charts), politics and economics."""

from __future__ import annotations

from random import Random

from .base import Draft, FigureSpec, Template, multiple_choice

SUBJECT = "사회"

# climate → (monthly rainfall pattern in mm, description, example city)
CLIMATES = {
    "열대 우림 기후": (
        [240, 230, 250, 260, 240, 220, 230, 240, 250, 260, 250, 240],
        "연중 기온이 높고 강수량이 많다.",
        "싱가포르",
    ),
    "사바나 기후": (
        [10, 15, 40, 90, 180, 220, 240, 230, 150, 60, 20, 10],
        "건기와 우기가 뚜렷하게 나타난다.",
        "다르에스살람",
    ),
    "사막 기후": (
        [5, 4, 6, 3, 2, 0, 0, 1, 2, 3, 5, 6],
        "연 강수량이 250mm 미만으로 매우 적다.",
        "카이로",
    ),
    "지중해성 기후": (
        [90, 80, 60, 40, 20, 5, 2, 4, 20, 50, 80, 100],
        "여름에 고온 건조하고 겨울에 비가 내린다.",
        "로마",
    ),
    "온대 계절풍 기후": (
        [20, 25, 45, 70, 100, 150, 380, 350, 140, 50, 40, 20],
        "여름에 강수가 집중되고 계절에 따라 바람의 방향이 바뀐다.",
        "서울",
    ),
    "서안 해양성 기후": (
        [60, 50, 55, 50, 55, 55, 60, 65, 55, 70, 70, 65],
        "연중 강수가 고르고 기온의 연교차가 작다.",
        "런던",
    ),
}


def climate(rng: Random, topic: str) -> Draft:
    rain, description, city = CLIMATES[topic]
    scale = rng.choice([0.9, 1.0, 1.1])
    values = [round(v * scale) for v in rain]
    figure = FigureSpec(
        "bar_chart",
        {
            "labels": [str(m) for m in range(1, 13)],
            "values": values,
            "value_labels": False,
            "x_title": "month",
            "y_title": "rainfall (mm)",
            "colours": False,
            "gap": 0.25,
            "width": 620,
        },
    )
    frame = rng.choice(
        [
            "그래프는 어느 지역의 월별 강수량을 나타낸 것이다. 이 지역의 기후로 옳은 것은?",
            "다음 월 강수량 그래프에 해당하는 기후 유형은?",
            "그래프와 같은 강수 특징이 나타나는 기후로 가장 적절한 것은?",
        ]
    )
    others = [c for c in CLIMATES if c != topic]
    choices, answer = multiple_choice(rng, topic, rng.sample(others, 4))
    return Draft(
        SUBJECT,
        "중등",
        1,
        "다양한 기후 지역과 주민 생활",
        "[9사02-01]",
        frame,
        choices=choices,
        answer=answer,
        explanation=f"{topic}는 {description} (예: {city})",
        difficulty="medium",
        tags=("기후", topic),
        figure=figure,
    )


ELECTION = {
    "보통 선거": "일정한 나이가 되면 재산, 성별, 신분에 관계없이 누구나 투표할 수 있다.",
    "평등 선거": "모든 유권자가 똑같이 한 표씩 행사한다.",
    "직접 선거": "유권자가 대리인을 거치지 않고 직접 투표한다.",
    "비밀 선거": "누구에게 투표했는지 다른 사람이 알 수 없게 한다.",
}
RIGHTS = {
    "자유권": "국가의 간섭을 받지 않고 자유롭게 생활할 권리",
    "평등권": "성별, 종교, 사회적 신분 등에 따라 차별받지 않을 권리",
    "참정권": "국가의 정치 과정에 참여할 수 있는 권리",
    "청구권": "기본권이 침해되었을 때 구제를 요구할 수 있는 권리",
    "사회권": "인간다운 생활을 보장해 줄 것을 국가에 요구할 수 있는 권리",
}


def politics(rng: Random, topic: str) -> Draft:
    table = ELECTION if topic in ELECTION else RIGHTS
    description = table[topic]
    if table is ELECTION:
        stem = rng.choice(
            [
                f'다음 설명에 해당하는 민주 선거의 기본 원칙은?\n\n"{description}"',
                f"민주 선거의 원칙 중 다음 내용과 관련 있는 것은?\n\n- {description}",
            ]
        )
        unit, standard = "정치 과정과 시민 참여", "[9사05-03]"
        pool = [c for c in ELECTION if c != topic] + ["자유 선거", "공개 선거", "간접 선거"]
        distractors = rng.sample(pool, 4)
    else:
        stem = rng.choice(
            [
                f'다음과 같은 성격을 가진 기본권은?\n\n"{description}"',
                f"헌법이 보장하는 기본권 중 '{description}'에 해당하는 것은?",
                f"우리 헌법에 규정된 기본권 가운데 {description}는?",
            ]
        )
        unit, standard = "인권과 헌법", "[9사03-01]"
        distractors = [c for c in RIGHTS if c != topic]
    choices, answer = multiple_choice(rng, topic, distractors)
    return Draft(
        SUBJECT,
        "중등",
        2,
        unit,
        standard,
        stem,
        choices=choices,
        answer=answer,
        explanation=f"{topic}: {description}",
        difficulty="easy",
        tags=("정치", topic),
    )


SHIFTS = {
    "수요 증가": ("소득이 증가하였다", "가격 상승, 거래량 증가"),
    "수요 감소": ("대체재의 가격이 하락하였다", "가격 하락, 거래량 감소"),
    "공급 증가": ("생산 기술이 발달하였다", "가격 하락, 거래량 증가"),
    "공급 감소": ("원자재 가격이 상승하였다", "가격 상승, 거래량 감소"),
}
GOODS = ["배추", "라면", "운동화", "휘발유", "아이스크림", "자전거"]


def market(rng: Random, topic: str) -> Draft:
    cause, result = SHIFTS[topic]
    good = rng.choice(GOODS)
    if rng.random() < 0.5:
        stem = f"{good} 시장에서 '{cause}'는 변화가 나타났을 때, 균형 가격과 균형 거래량의 변화로 옳은 것은? (단, 다른 조건은 일정하다.)"
    else:
        stem = f"다른 조건이 일정할 때 {good} 시장에서 {cause}. 이에 따른 시장 균형의 변화로 가장 적절한 것은?"
    options = [r for _, r in SHIFTS.values()] + ["가격 변화 없음, 거래량 변화 없음"]
    choices, answer = multiple_choice(rng, result, [o for o in options if o != result])
    return Draft(
        SUBJECT,
        "고등",
        1,
        "시장 경제와 금융",
        "[10통사06-02]",
        stem,
        choices=choices,
        answer=answer,
        explanation=f"{cause} → {topic} → {result}.",
        difficulty="medium",
        tags=("수요와 공급", topic),
    )


def population(rng: Random, topic: str) -> Draft:
    years = [1970, 1990, 2010, 2030]
    if topic == "aging":
        values = [3, 5, 11, rng.choice([24, 25, 26])]
        values[2] += rng.randint(0, 2)
        stem = "그래프는 우리나라의 65세 이상 인구 비율(%) 변화를 나타낸 것이다. 이에 대한 설명으로 옳은 것은?"
        correct = "고령화가 빠르게 진행되고 있다."
        wrong = [
            "유소년층 인구 비율이 증가하고 있다.",
            "노년층 인구 비율이 감소하고 있다.",
            "출생률이 높아지고 있다.",
            "평균 수명이 짧아지고 있다.",
        ]
        y_title = "65+ (%)"
    else:
        values = [4, 32, 75, rng.choice([80, 81, 82])]
        values[1] += rng.randint(-2, 2)
        stem = "그래프는 어느 나라의 도시 인구 비율(%) 변화를 나타낸 것이다. 이 나라에서 나타난 현상으로 옳은 것은?"
        correct = "도시화가 진행되어 촌락 인구 비율이 줄었다."
        wrong = [
            "도시 인구 비율이 계속 감소하였다.",
            "촌락 인구가 늘어났다.",
            "산업화 이전 단계에 머물러 있다.",
            "도시화가 전혀 진행되지 않았다.",
        ]
        y_title = "urban (%)"
    figure = FigureSpec(
        "bar_chart",
        {
            "labels": [str(y) for y in years],
            "values": values,
            "y_title": y_title,
            "y_max": 100 if topic != "aging" else 30,
            "y_step": 20 if topic != "aging" else 5,
        },
    )
    choices, answer = multiple_choice(rng, correct, wrong)
    return Draft(
        SUBJECT,
        "중등",
        3,
        "인구 변화와 인구 문제",
        "[9사04-03]",
        stem,
        choices=choices,
        answer=answer,
        explanation=correct,
        difficulty="easy",
        tags=("인구", topic),
        figure=figure,
    )


TEMPLATES = [
    Template("social.climate", SUBJECT, climate, tuple(CLIMATES), weight=1.2),
    Template("social.politics", SUBJECT, politics, (*ELECTION, *RIGHTS)),
    Template("social.market", SUBJECT, market, tuple(SHIFTS)),
    Template("social.population", SUBJECT, population, ("aging", "urbanization")),
]
