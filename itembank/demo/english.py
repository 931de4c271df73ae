"""영어 templates: English passages and sentences with Korean instructions."""

from __future__ import annotations

from random import Random

from .base import Draft, Template, multiple_choice

SUBJECT = "영어"

PASSAGES = {
    "sleep": (
        "Many teenagers stay up late at night using their phones. However, scientists say that "
        "sleep is essential for memory and learning. While we sleep, the brain organizes what we "
        "learned during the day. Students who sleep at least eight hours usually remember more "
        "and feel less stressed.",
        "the importance of sleep for learning",
        "Sleep Well, Learn Better",
    ),
    "plastic": (
        "Every year, millions of tons of plastic end up in the ocean. Sea animals often mistake "
        "plastic bags for food, and tiny pieces of plastic are now found even in the fish we eat. "
        "Using reusable bags and bottles is a small step, but if everyone takes it, the ocean "
        "can become cleaner.",
        "the need to reduce plastic waste",
        "Small Steps for a Cleaner Ocean",
    ),
    "volunteer": (
        "Last summer, I volunteered at a local animal shelter. At first, I only cleaned the cages, "
        "but soon I started walking the dogs and playing with them. I learned that caring for "
        "others, even animals, makes me happier. Volunteering taught me more than any textbook.",
        "what the writer learned from volunteering",
        "Lessons from an Animal Shelter",
    ),
    "bilingual": (
        "People who speak two languages switch between them many times a day. Research shows "
        "that this switching exercises the brain, helping bilingual people focus better and solve "
        "problems more flexibly. Learning a second language, therefore, is not just about "
        "communication; it also trains the mind.",
        "the mental benefits of speaking two languages",
        "Two Languages, One Stronger Brain",
    ),
    "breakfast": (
        "Skipping breakfast has become common among busy students. Without breakfast, the body "
        "lacks the energy it needs in the morning, and it becomes hard to concentrate in class. "
        "Even a simple meal, such as a banana and a glass of milk, can make a big difference.",
        "why students should eat breakfast",
        "Don't Skip the Most Important Meal",
    ),
}
TOPIC_DISTRACTORS = [
    "the history of smartphones",
    "how to train a pet dog",
    "the dangers of fast food",
    "the popularity of online games",
    "ways to save money",
    "the origin of the Olympic Games",
    "the life cycle of sea turtles",
    "how to write a good essay",
]
TITLE_DISTRACTORS = [
    "The Secret of Fast Cars",
    "Why Cats Sleep All Day",
    "A Trip to the Moon",
    "Money Makes Everything",
    "How Phones Changed Music",
    "The Last Summer Vacation",
]


def main_idea(rng: Random, topic: str) -> Draft:
    passage, idea, title = PASSAGES[topic]
    roll = rng.random()
    if roll < 0.2:
        words = rng.choice([20, 25, 30])
        stem = (
            f"다음 글을 읽고, 글의 요지를 영어 한 문장({words}단어 이내)으로 쓰시오.\n\n{passage}"
        )
        return Draft(
            SUBJECT,
            "고등",
            1,
            "쓰기 - 요약",
            "[10영04-03]",
            stem,
            item_type="essay",
            answer=f"The passage is about {idea}.",
            explanation="글의 중심 내용을 파악하여 요약한다.",
            difficulty="hard",
            tags=("서술형", "요약", topic),
        )
    if roll < 0.6:
        frame = rng.choice(
            ["다음 글의 주제로 가장 적절한 것은?", "다음 글의 요지로 가장 적절한 것은?"]
        )
        choices, answer = multiple_choice(rng, idea, rng.sample(TOPIC_DISTRACTORS, 4))
        tag = "주제"
    else:
        frame = "다음 글의 제목으로 가장 적절한 것은?"
        choices, answer = multiple_choice(rng, title, rng.sample(TITLE_DISTRACTORS, 4))
        tag = "제목"
    return Draft(
        SUBJECT,
        "고등",
        rng.choice([1, 2]),
        "독해 - 대의 파악",
        "[10영02-05]",
        f"{frame}\n\n{passage}",
        choices=choices,
        answer=answer,
        explanation=f"글 전체가 '{idea}'에 대해 이야기하고 있다.",
        difficulty="medium",
        tags=("독해", tag, topic),
    )


GRAMMAR = {
    "relative": (
        [
            (
                "This is the book {} I borrowed from the library.",
                "which",
                ["who", "whose", "where", "what"],
            ),
            (
                "She is the girl {} won the speech contest.",
                "who",
                ["which", "whose", "where", "what"],
            ),
            ("I know a man {} son is a famous singer.", "whose", ["who", "which", "that", "what"]),
        ],
        "관계대명사",
    ),
    "infinitive": (
        [
            (
                "It is important {} regularly.",
                "to exercise",
                ["exercise", "exercised", "exercises", "to exercising"],
            ),
            (
                "He decided {} abroad next year.",
                "to study",
                ["study", "studying", "studied", "to studying"],
            ),
            ("She has a lot of homework {} tonight.", "to do", ["do", "doing", "did", "to doing"]),
        ],
        "to부정사",
    ),
    "present_perfect": (
        [
            (
                "I {} in Seoul since 2019.",
                "have lived",
                ["live", "lived", "am living", "will live"],
            ),
            (
                "She {} her homework yet.",
                "hasn't finished",
                ["didn't finish", "doesn't finish", "won't finish", "isn't finishing"],
            ),
            (
                "We {} each other for ten years.",
                "have known",
                ["know", "knew", "are knowing", "will know"],
            ),
        ],
        "현재완료",
    ),
    "passive": (
        [
            (
                "The bridge {} in 1990.",
                "was built",
                ["built", "is building", "has built", "builds"],
            ),
            (
                "English {} in many countries.",
                "is spoken",
                ["speaks", "spoke", "is speaking", "has spoken"],
            ),
            (
                "The letter {} by my grandmother.",
                "was written",
                ["wrote", "writes", "was writing", "has written"],
            ),
        ],
        "수동태",
    ),
    "comparative": (
        [
            (
                "This box is {} than that one.",
                "heavier",
                ["heavy", "heaviest", "more heavy", "most heavy"],
            ),
            (
                "Math is {} subject for me.",
                "the most difficult",
                ["difficult", "more difficult", "most difficult", "the difficulter"],
            ),
            (
                "She runs {} than her brother.",
                "faster",
                ["fast", "fastest", "more fast", "most fast"],
            ),
        ],
        "비교급과 최상급",
    ),
}


def grammar(rng: Random, topic: str) -> Draft:
    sentences, name = GRAMMAR[topic]
    sentence, correct, wrong = rng.choice(sentences)
    stem = f"다음 빈칸에 들어갈 말로 가장 적절한 것은?\n\n{sentence.format('________')}"
    choices, answer = multiple_choice(rng, correct, wrong)
    return Draft(
        SUBJECT,
        "중등",
        rng.choice([2, 3]),
        "문법 - " + name,
        "[9영02-05]",
        stem,
        choices=choices,
        answer=answer,
        explanation=f"{name}의 쓰임을 묻는 문제이다. 정답: {correct}.",
        difficulty="easy",
        tags=("어법", name),
    )


DIALOGUES = {
    "directions": (
        "A: Excuse me. How can I get to the post office?\nB: ________\nA: Thank you so much.",
        "Go straight two blocks and turn left.",
        [
            "I'm going to the library.",
            "It's ten o'clock now.",
            "I like sending letters.",
            "My brother works there.",
        ],
    ),
    "shopping": (
        "A: May I help you?\nB: Yes, I'm looking for a T-shirt.\nA: ________\nB: Medium, please.",
        "What size do you wear?",
        [
            "How much is it?",
            "What color is your bag?",
            "When did you buy it?",
            "Where do you live?",
        ],
    ),
    "plans": (
        "A: What are you going to do this weekend?\nB: ________\nA: Sounds fun. Can I join you?",
        "I'm planning to go hiking with my family.",
        [
            "I went to the movies last weekend.",
            "I don't like weekends.",
            "It was very cold.",
            "I have never been there.",
        ],
    ),
    "sick": (
        "A: You look tired. What's wrong?\nB: I have a bad cold.\nA: ________",
        "That's too bad. You should see a doctor.",
        [
            "Congratulations!",
            "I'm glad to hear that.",
            "Let's play soccer together.",
            "Me too. I'm very happy.",
        ],
    ),
}


def dialogue(rng: Random, topic: str) -> Draft:
    text, correct, wrong = DIALOGUES[topic]
    frame = rng.choice(
        [
            "다음 대화의 빈칸에 들어갈 말로 가장 적절한 것은?",
            "대화의 흐름으로 보아 빈칸에 알맞은 것은?",
        ]
    )
    distractors = wrong[:]
    rng.shuffle(distractors)
    choices, answer = multiple_choice(rng, correct, distractors)
    return Draft(
        SUBJECT,
        "중등",
        1,
        "듣기·말하기 - 의사소통 기능",
        "[9영01-03]",
        f"{frame}\n\n{text}",
        choices=choices,
        answer=answer,
        explanation=f"대화의 흐름상 '{correct}'가 알맞다.",
        difficulty="easy",
        tags=("대화", topic),
    )


TEMPLATES = [
    Template("english.main_idea", SUBJECT, main_idea, tuple(PASSAGES), weight=1.5),
    Template("english.grammar", SUBJECT, grammar, tuple(GRAMMAR)),
    Template("english.dialogue", SUBJECT, dialogue, tuple(DIALOGUES)),
]
