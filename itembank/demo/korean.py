# ruff: noqa: E501 -- item templates hold long Korean and LaTeX sentences; splitting them hurts reading.
"""국어 templates: spelling, grammar, phonology, literature and reading passages (all text)."""

from __future__ import annotations

from random import Random

from .base import Draft, Template, multiple_choice

SUBJECT = "국어"

# concept → (correct sentences, incorrect sentences, rule)
SPELLING = {
    "되/돼": (
        [
            "내일은 날씨가 좋아질 거야. 그래야 소풍을 갈 수 있게 돼.",
            "그는 훌륭한 의사가 되었다.",
            "이제 집에 가도 돼요.",
            "공부를 열심히 하면 꿈을 이루게 될 거야.",
        ],
        [
            "이제 집에 가도 되요.",
            "그는 훌륭한 의사가 됬다.",
            "그렇게 하면 안 되.",
            "선생님이 되고 싶어서 노력하게 됬다.",
        ],
        "'돼'는 '되어'의 준말이므로 '되어'로 바꿀 수 있는 자리에 쓴다.",
    ),
    "안/않": (
        [
            "오늘은 비가 안 온다.",
            "그는 밥을 먹지 않았다.",
            "숙제를 안 해서 혼났다.",
            "그 책은 재미있지 않다.",
        ],
        [
            "그는 밥을 먹지 안았다.",
            "오늘은 숙제를 않 했다.",
            "그 영화는 재미있지 안다.",
            "동생은 양치를 않 한다.",
        ],
        "'안'은 '아니'의 준말로 용언 앞에, '않-'은 '아니하-'의 준말로 '-지' 뒤에 쓴다.",
    ),
    "로서/로써": (
        [
            "그는 학생으로서 본분을 다했다.",
            "대화로써 갈등을 풀었다.",
            "쌀로써 떡을 만든다.",
            "교사로서 책임을 느낀다.",
        ],
        [
            "그는 학생으로써 본분을 다했다.",
            "대화로서 갈등을 풀었다.",
            "부모로써 할 일을 했다.",
            "칼로서 사과를 깎았다.",
        ],
        "'로서'는 자격, '로써'는 수단이나 도구를 나타낸다.",
    ),
    "-든지/-던지": (
        [
            "사과든지 배든지 마음대로 먹어라.",
            "얼마나 춥던지 손이 꽁꽁 얼었다.",
            "가든지 말든지 네가 정해.",
            "어찌나 웃기던지 배가 아팠다.",
        ],
        [
            "사과던지 배던지 마음대로 먹어라.",
            "가던지 말던지 네가 정해.",
            "얼마나 춥든지 손이 얼었다.",
            "무엇을 하던지 최선을 다해라.",
        ],
        "'-든지'는 선택, '-던지'는 지난 일을 회상할 때 쓴다.",
    ),
    "맞히다/맞추다": (
        [
            "퀴즈의 정답을 맞혔다.",
            "친구와 답안지를 맞추어 보았다.",
            "화살로 과녁을 맞혔다.",
            "퍼즐 조각을 맞추었다.",
        ],
        [
            "퀴즈의 정답을 맞췄다.",
            "화살로 과녁을 맞췄다.",
            "문제의 답을 모두 맞추었다.",
            "친구와 답을 맞혀 보았다.",
        ],
        "'맞히다'는 정답을 고르거나 목표에 닿게 하는 것, '맞추다'는 서로 비교하거나 맞게 붙이는 것이다.",
    ),
    "웬/왠지": (
        [
            "왠지 오늘은 기분이 좋다.",
            "웬 사람이 문 앞에 서 있었다.",
            "이게 웬 떡이냐.",
            "왠지 모르게 눈물이 났다.",
        ],
        [
            "웬지 오늘은 기분이 좋다.",
            "왠 사람이 문 앞에 서 있었다.",
            "이게 왠 떡이냐.",
            "왠일로 일찍 왔니?",
        ],
        "'왠지'는 '왜인지'의 준말이고, 그 밖에는 '웬'을 쓴다.",
    ),
}


def spelling(rng: Random, topic: str) -> Draft:
    right, wrong, rule = SPELLING[topic]
    if rng.random() < 0.5:
        stem = f"다음 중 밑줄 친 부분의 맞춤법이 옳은 것은? ('{topic}'의 구별)"
        correct, distractors = rng.choice(right), rng.sample(wrong, 4)
    else:
        stem = f"다음 문장 중 어문 규범에 맞게 쓴 것은? ('{topic}'의 쓰임)"
        correct, distractors = rng.choice(right), rng.sample(wrong, 4)
    choices, answer = multiple_choice(rng, correct, distractors)
    return Draft(
        SUBJECT,
        "중등",
        rng.choice([1, 2]),
        "한글 맞춤법",
        "[9국04-06]",
        stem,
        choices=choices,
        answer=answer,
        explanation=rule,
        difficulty="easy",
        tags=("맞춤법", topic),
    )


PHONOLOGY = {
    "비음화": (
        ["국물", "밥물", "닫는", "먹는", "앞날", "십만"],
        ["신라", "굳이", "국화", "좋다"],
        "비음 앞에서 예사소리가 비음으로 바뀌는 현상이다.",
    ),
    "유음화": (
        ["신라", "칼날", "난로", "물난리", "설날", "광한루"],
        ["국물", "같이", "놓고", "먹는"],
        "'ㄴ'이 'ㄹ'의 앞이나 뒤에서 'ㄹ'로 바뀌는 현상이다.",
    ),
    "구개음화": (
        ["굳이", "같이", "해돋이", "밭이", "맏이", "끝이"],
        ["국물", "신라", "국화", "밥물"],
        "끝소리 'ㄷ, ㅌ'이 모음 'ㅣ'와 만나 'ㅈ, ㅊ'으로 바뀌는 현상이다.",
    ),
    "거센소리되기": (
        ["국화", "좋다", "놓고", "입학", "맏형", "축하"],
        ["굳이", "칼날", "먹는", "설날"],
        "'ㅎ'과 예사소리가 만나 거센소리가 되는 현상이다.",
    ),
}


def phonology(rng: Random, topic: str) -> Draft:
    yes, no, rule = PHONOLOGY[topic]
    word = rng.choice(yes)
    frame = rng.choice(
        [
            f"다음 중 '{topic}' 현상이 일어나는 단어는?",
            f"발음할 때 {topic}가 일어나는 예로 알맞은 것은?",
        ]
    )
    choices, answer = multiple_choice(rng, word, rng.sample(no, 4))
    return Draft(
        SUBJECT,
        "중등",
        2,
        "음운의 변동",
        "[9국04-02]",
        frame,
        choices=choices,
        answer=answer,
        explanation=f"{topic}는 {rule} '{word}'에서 이 현상이 일어난다.",
        difficulty="medium",
        tags=("음운 변동", topic),
    )


POEMS = {
    "새벽 강": (
        "새벽 강가에 서면\n물안개가 먼저 나를 안는다\n어제의 슬픔은 강물에 띄워 보내고\n"
        "나는 다시 첫 햇살을 기다린다",
        "희망",
        ["자연물에 감정을 이입하고 있다.", "시간의 흐름에 따라 시상을 전개한다."],
    ),
    "할머니의 밥상": (
        "늦은 저녁 할머니의 밥상에는\n식은 국 한 그릇과 따뜻한 손이 놓여 있었다\n"
        "나는 그 손을 잊지 못해\n오늘도 밥을 짓는다",
        "그리움",
        ["구체적인 사물을 통해 대상에 대한 정서를 드러낸다.", "과거와 현재를 대비한다."],
    ),
    "겨울 나무": (
        "잎을 다 떨군 나무는\n빈손으로도 하늘을 떠받친다\n바람이 불수록 뿌리는 깊어지고\n"
        "봄은 그 깊이만큼 온다",
        "의지",
        ["대상을 의인화하여 주제를 형상화한다.", "역설적 인식이 드러난다."],
    ),
    "골목길": (
        "아이들이 떠난 골목길에\n분필로 그린 사방치기만 남았다\n해가 지면 그 칸마다\n"
        "웃음소리가 다시 들어앉는다",
        "향수",
        ["청각적 이미지를 활용한다.", "공간을 중심으로 시상을 전개한다."],
    ),
}
EMOTIONS = ["희망", "그리움", "의지", "향수", "분노", "체념", "무관심", "경쾌함"]


def poem(rng: Random, topic: str) -> Draft:
    text, emotion, devices = POEMS[topic]
    if rng.random() < 0.5:
        stem = f"다음 시를 읽고 물음에 답하시오.\n\n{text}\n\n윗글의 화자가 드러내는 정서로 가장 적절한 것은?"
        choices, answer = multiple_choice(
            rng, emotion, rng.sample([e for e in EMOTIONS if e != emotion], 4)
        )
        why = f"화자는 시 전체에서 '{emotion}'의 정서를 드러낸다."
    else:
        stem = (
            f"다음 시를 읽고 물음에 답하시오.\n\n{text}\n\n윗글의 표현상 특징으로 가장 적절한 것은?"
        )
        wrong = [
            "설의적 표현으로 주제를 강조한다.",
            "반어적 표현으로 대상을 비판한다.",
            "명령형 어조로 행동을 촉구한다.",
            "색채어를 대비하여 분위기를 전환한다.",
            "말줄임표를 반복하여 여운을 남긴다.",
        ]
        choices, answer = multiple_choice(rng, rng.choice(devices), rng.sample(wrong, 4))
        why = "시에 쓰인 표현 방법과 시상 전개 방식을 확인한다."
    return Draft(
        SUBJECT,
        "중등",
        3,
        "문학 - 시",
        "[9국05-04]",
        stem,
        choices=choices,
        answer=answer,
        explanation=why,
        difficulty="medium",
        tags=("현대시", "화자의 정서"),
    )


ARTICLES = {
    "미세먼지": (
        "미세먼지는 지름이 10마이크로미터 이하인 작은 입자로, 호흡기를 통해 몸 깊숙이 들어온다. "
        "특히 지름 2.5마이크로미터 이하의 초미세먼지는 폐포까지 도달하여 혈관으로 들어갈 수 있다. "
        "미세먼지 농도가 높은 날에는 외출을 줄이고 보건용 마스크를 착용하는 것이 좋다.",
        "초미세먼지는 폐포까지 도달할 수 있다.",
        [
            "미세먼지는 지름이 10밀리미터 이상이다.",
            "마스크는 미세먼지를 막는 데 효과가 없다.",
            "미세먼지는 피부를 통해서만 몸에 들어온다.",
            "초미세먼지는 혈관으로 들어갈 수 없다.",
        ],
    ),
    "인공지능과 윤리": (
        "인공지능은 많은 데이터를 학습하여 판단을 내린다. 그런데 학습 데이터에 편견이 담겨 있으면 "
        "인공지능의 판단에도 그 편견이 그대로 나타날 수 있다. 따라서 인공지능을 만드는 사람은 "
        "데이터를 신중하게 고르고 결과를 꾸준히 점검해야 한다.",
        "학습 데이터의 편견은 인공지능의 판단에 영향을 줄 수 있다.",
        [
            "인공지능은 데이터 없이 스스로 판단한다.",
            "인공지능의 판단은 언제나 공정하다.",
            "데이터를 점검할 필요는 없다.",
            "편견은 인공지능과 관계가 없다.",
        ],
    ),
    "발효 음식": (
        "김치와 된장 같은 발효 음식은 미생물이 음식 속 성분을 분해하면서 만들어진다. 이 과정에서 "
        "새로운 맛과 향이 생기고 보관 기간도 길어진다. 또한 발효 과정에서 생긴 유산균은 장 건강에 "
        "도움을 준다.",
        "발효 과정에서 음식의 보관 기간이 길어진다.",
        [
            "발효 음식은 미생물 없이 만들어진다.",
            "발효는 음식의 맛을 변화시키지 않는다.",
            "유산균은 장 건강에 해롭다.",
            "된장은 발효 음식이 아니다.",
        ],
    ),
    "도시 열섬": (
        "도시의 기온이 주변 지역보다 높게 나타나는 현상을 열섬 현상이라고 한다. 아스팔트와 콘크리트가 "
        "낮 동안 열을 흡수했다가 밤에 내놓고, 자동차와 냉방기에서 나오는 열이 더해지기 때문이다. "
        "옥상 정원과 도시 숲은 열섬 현상을 줄이는 방법으로 주목받고 있다.",
        "옥상 정원은 열섬 현상을 줄이는 방법이 될 수 있다.",
        [
            "열섬 현상은 농촌에서 더 심하다.",
            "콘크리트는 열을 흡수하지 않는다.",
            "냉방기는 도시 기온과 관계가 없다.",
            "열섬 현상은 낮에만 나타난다.",
        ],
    ),
}


def reading(rng: Random, topic: str) -> Draft:
    text, fact, wrong = ARTICLES[topic]
    if rng.random() < 0.25:
        stem = f"다음 글을 읽고 물음에 답하시오.\n\n{text}\n\n윗글의 중심 내용을 한 문장으로 요약하여 쓰시오."
        return Draft(
            SUBJECT,
            "중등",
            2,
            "독서 - 정보 전달 글",
            "[9국02-02]",
            stem,
            item_type="essay",
            answer=fact,
            explanation="글의 핵심 개념과 근거를 포함하여 요약한다.",
            difficulty="medium",
            tags=("요약", "서술형", topic),
        )
    frame = rng.choice(
        ["윗글의 내용과 일치하는 것은?", "윗글을 읽고 알 수 있는 내용으로 적절한 것은?"]
    )
    stem = f"다음 글을 읽고 물음에 답하시오.\n\n{text}\n\n{frame}"
    choices, answer = multiple_choice(rng, fact, wrong)
    return Draft(
        SUBJECT,
        "중등",
        2,
        "독서 - 정보 전달 글",
        "[9국02-02]",
        stem,
        choices=choices,
        answer=answer,
        explanation=f"글에서 '{fact}'라는 내용을 확인할 수 있다.",
        difficulty="easy",
        tags=("내용 일치", topic),
    )


POS = {
    "형용사": ["하늘이 참 맑다.", "그 꽃은 무척 예쁘다.", "방이 너무 좁다.", "물이 아주 차갑다."],
    "동사": [
        "아이가 공원에서 뛴다.",
        "나는 매일 일기를 쓴다.",
        "새가 하늘을 난다.",
        "동생이 밥을 먹는다.",
    ],
    "부사": [
        "그는 천천히 걸었다.",
        "비가 몹시 내렸다.",
        "나는 자주 도서관에 간다.",
        "꽃이 활짝 피었다.",
    ],
    "관형사": ["새 옷을 입었다.", "헌 책을 버렸다.", "저 사람이 누구니?", "온갖 꽃이 피었다."],
}


def parts_of_speech(rng: Random, topic: str) -> Draft:
    others = [pos for pos in POS if pos != topic]
    odd_pos = rng.choice(others)
    same = rng.sample(POS[topic], 4)
    odd = rng.choice(POS[odd_pos])
    stem = f"다음 중 서술어(또는 꾸미는 말)의 품사가 나머지 넷과 다른 문장은? (나머지는 모두 {topic}이 쓰였다.)"
    choices, answer = multiple_choice(rng, odd, same)
    return Draft(
        SUBJECT,
        "중등",
        1,
        "품사의 종류와 특성",
        "[9국04-04]",
        stem,
        choices=choices,
        answer=answer,
        explanation=f"정답 문장에는 {odd_pos}가 쓰였고 나머지는 {topic}이다.",
        difficulty="medium",
        tags=("품사", topic),
    )


TEMPLATES = [
    Template("korean.spelling", SUBJECT, spelling, tuple(SPELLING)),
    Template("korean.phonology", SUBJECT, phonology, tuple(PHONOLOGY)),
    Template("korean.poem", SUBJECT, poem, tuple(POEMS)),
    Template("korean.reading", SUBJECT, reading, tuple(ARTICLES)),
    Template("korean.parts_of_speech", SUBJECT, parts_of_speech, tuple(POS)),
]
