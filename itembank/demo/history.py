# ruff: noqa: E501 -- item templates hold long Korean and LaTeX sentences; splitting them hurts reading.
"""한국사 templates: events with their clues, and periods on a timeline."""

from __future__ import annotations

from random import Random

from .base import Draft, FigureSpec, Template, multiple_choice

SUBJECT = "한국사"

# event → (year, clue sentences, a true statement about it, unit)
EVENTS = {
    "훈민정음 창제": (
        1443,
        [
            "백성이 쉽게 익혀 쓸 수 있는 스물여덟 글자를 만들었다.",
            "집현전 학자들과 함께 새 문자를 만들고 반포하였다.",
        ],
        "세종 때의 일이다.",
        "조선의 성립과 발전",
    ),
    "임진왜란": (
        1592,
        ["이순신이 한산도에서 학익진으로 적을 물리쳤다.", "곽재우 등 의병이 곳곳에서 일어났다."],
        "조선과 일본 사이의 전쟁이다.",
        "조선 사회의 변동",
    ),
    "병자호란": (
        1636,
        ["인조가 남한산성으로 피란하였다.", "삼전도에서 청에 항복하였다."],
        "청의 침입으로 일어났다.",
        "조선 사회의 변동",
    ),
    "갑오개혁": (
        1894,
        ["군국기무처를 설치하여 개혁을 추진하였다.", "과거제와 신분제를 폐지하였다."],
        "신분제가 법적으로 폐지되었다.",
        "근대 국가 수립 운동",
    ),
    "3·1 운동": (
        1919,
        ["민족 대표들이 독립 선언서를 발표하였다.", "전국 각지에서 만세 시위가 일어났다."],
        "대한민국 임시 정부 수립의 계기가 되었다.",
        "일제 강점기 민족 운동",
    ),
    "6·25 전쟁": (
        1950,
        ["북한군이 38도선을 넘어 남침하였다.", "인천 상륙 작전으로 서울을 되찾았다."],
        "정전 협정으로 군사 분계선이 설정되었다.",
        "대한민국의 발전",
    ),
    "4·19 혁명": (
        1960,
        [
            "3·15 부정 선거에 항의하는 시위가 일어났다.",
            "학생과 시민의 시위로 이승만 정부가 물러났다.",
        ],
        "부정 선거에 맞선 민주 혁명이다.",
        "대한민국의 발전",
    ),
    "살수 대첩": (
        612,
        ["을지문덕이 수의 별동대를 살수에서 크게 물리쳤다.", "수 양제가 고구려를 침입하였다."],
        "고구려가 수의 침입을 막아 냈다.",
        "고대 국가의 발전",
    ),
    "귀주 대첩": (
        1019,
        ["강감찬이 귀주에서 거란군을 크게 무찔렀다.", "거란의 3차 침입을 물리쳤다."],
        "고려가 거란의 침입을 막아 냈다.",
        "고려의 성립과 변천",
    ),
    "동학 농민 운동": (
        1894,
        ["전봉준이 고부 관아를 습격하였다.", "전주성을 점령하고 집강소를 설치하였다."],
        "폐정 개혁을 요구하였다.",
        "근대 국가 수립 운동",
    ),
    "6월 민주 항쟁": (
        1987,
        ["호헌 철폐와 독재 타도를 외쳤다.", "대통령 직선제 개헌을 요구하였다."],
        "대통령 직선제 개헌이 이루어졌다.",
        "대한민국의 발전",
    ),
    "고려 건국": (
        918,
        ["왕건이 송악을 도읍으로 새 나라를 세웠다.", "후삼국을 통일하는 기반을 마련하였다."],
        "태조 왕건이 세운 나라이다.",
        "고려의 성립과 변천",
    ),
}
FALSE_STATEMENTS = [
    "신라가 삼국을 통일하였다.",
    "최초로 금속 활자를 만들었다.",
    "광개토 대왕이 영토를 넓혔다.",
    "동학 농민 운동이 일어났다.",
    "경부 고속 국도가 개통되었다.",
    "팔만대장경을 새겼다.",
]


def event_clues(rng: Random, topic: str) -> Draft:
    if rng.random() < 0.15:
        return essay(rng, topic)
    year, clues, fact, unit = EVENTS[topic]
    clue_lines = "\n".join(f"- {c}" for c in rng.sample(clues, len(clues)))
    if rng.random() < 0.5:
        stem = rng.choice(
            ["다음 자료와 관련된 역사적 사건은?", "다음 내용과 관련 있는 사건으로 옳은 것은?"]
        )
        stem += f"\n\n{clue_lines}"
        choices, answer = multiple_choice(
            rng, topic, rng.sample([e for e in EVENTS if e != topic], 4)
        )
        why = f"자료는 {topic}({year}년)에 대한 설명이다."
    else:
        stem = f"다음 자료에 나타난 사건에 대한 설명으로 옳은 것은?\n\n{clue_lines}"
        choices, answer = multiple_choice(rng, fact, rng.sample(FALSE_STATEMENTS, 4))
        why = f"{topic}({year}년): {fact}"
    return Draft(
        SUBJECT,
        "고등",
        1,
        unit,
        "[10한사02-03]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("사건", topic),
    )


PERIODS = {
    "조선 전기": ([1392, 1443, 1485, 1592], "경국대전이 완성되었다."),
    "조선 후기": ([1636, 1708, 1776, 1811], "대동법이 전국으로 확대되었다."),
    "개항기": ([1876, 1884, 1894, 1897], "강화도 조약이 체결되었다."),
    "일제 강점기": ([1910, 1919, 1927, 1940], "신간회가 결성되었다."),
    "현대": ([1948, 1950, 1960, 1987], "6월 민주 항쟁이 일어났다."),
}


def timeline(rng: Random, topic: str) -> Draft:
    years, fact = PERIODS[topic]
    gap = rng.randrange(3)
    figure = FigureSpec("timeline", {"years": years, "spans": {"X": (years[gap], years[gap + 1])}})
    others = [f for p, (_, f) in PERIODS.items() if p != topic]
    stem = rng.choice(
        [
            f"연표의 (X) 시기({years[gap]}~{years[gap + 1]}년 무렵, {topic})에 있었던 사실로 옳은 것은?",
            f"다음 연표는 {topic}의 주요 사건을 나타낸 것이다. (X) 시기에 해당하는 사실로 가장 적절한 것은?",
        ]
    )
    choices, answer = multiple_choice(rng, fact, others)
    return Draft(
        SUBJECT,
        "고등",
        1,
        topic,
        "[10한사03-01]",
        stem,
        choices=choices,
        answer=answer,
        explanation=f"{topic}: {fact}",
        difficulty="hard",
        tags=("연표", topic),
        figure=figure,
    )


def essay(rng: Random, topic: str) -> Draft:
    year, clues, fact, unit = EVENTS[topic]
    stem = (
        f"{topic}({year}년)이 일어난 배경과 결과를 각각 한 가지씩 서술하시오."
        if rng.random() < 0.5
        else f"다음 자료를 읽고 이 사건의 역사적 의의를 서술하시오.\n\n- {clues[0]}"
    )
    return Draft(
        SUBJECT,
        "고등",
        1,
        unit,
        "[10한사02-03]",
        stem,
        item_type="essay",
        answer=fact,
        explanation=f"{topic}의 배경, 전개, 결과를 연결하여 서술한다.",
        difficulty="hard",
        tags=("서술형", topic),
    )


TEMPLATES = [
    Template("history.event", SUBJECT, event_clues, tuple(EVENTS), weight=1.5),
    Template("history.timeline", SUBJECT, timeline, tuple(PERIODS)),
]
