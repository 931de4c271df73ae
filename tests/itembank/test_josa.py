"""Korean particles picked from the word before them (itembank.josa)."""

from __future__ import annotations

from django.template import Context, Template
from django.test import SimpleTestCase

from itembank.josa import particle, resolve


class ParticleTests(SimpleTestCase):
    def test_hangul_with_and_without_final_consonant(self) -> None:
        self.assertEqual(particle("책", "을(를)"), "을")
        self.assertEqual(particle("사과", "을(를)"), "를")
        self.assertEqual(particle("캠페인", "이(가)"), "이")
        self.assertEqual(particle("세트", "이(가)"), "가")
        self.assertEqual(particle("문항", "은(는)"), "은")
        self.assertEqual(particle("파일", "은(는)"), "은")
        self.assertEqual(particle("폴더", "은(는)"), "는")
        self.assertEqual(particle("책", "과(와)"), "과")
        self.assertEqual(particle("사과", "과(와)"), "와")

    def test_euro_after_rieul_is_ro(self) -> None:
        self.assertEqual(particle("서울", "(으)로"), "로")  # ㄹ
        self.assertEqual(particle("부산", "(으)로"), "으로")  # another consonant
        self.assertEqual(particle("학교", "(으)로"), "로")  # a vowel

    def test_digits_read_in_korean(self) -> None:
        expected = {
            "0": "을",  # 영
            "1": "을",  # 일
            "2": "를",  # 이
            "3": "을",  # 삼
            "4": "를",  # 사
            "5": "를",  # 오
            "6": "을",  # 육
            "7": "을",  # 칠
            "8": "을",  # 팔
            "9": "를",  # 구
            "10": "을",  # 십
            "100": "을",  # 백
            "1000": "을",  # 천
            "10000": "을",  # 만
            "12": "를",  # 십이
        }
        self.assertEqual({n: particle(n, "을(를)") for n in expected}, expected)
        self.assertEqual(particle("1", "(으)로"), "로")  # 일로
        self.assertEqual(particle("3", "(으)로"), "으로")  # 삼으로
        self.assertEqual(particle("2", "(으)로"), "로")  # 이로

    def test_ascii_ids_and_words(self) -> None:
        self.assertEqual(particle("MATH-2-000001", "이(가)"), "이")  # …일
        self.assertEqual(particle("ITEM-20250301-0002", "이(가)"), "가")  # …이
        self.assertEqual(particle("offline-default", "은(는)"), "는")  # 디폴트
        self.assertEqual(particle("SQL", "을(를)"), "을")  # 엘
        self.assertEqual(particle("API", "을(를)"), "를")  # 아이
        self.assertEqual(particle("item", "을(를)"), "을")  # 아이템
        self.assertEqual(particle("R", "(으)로"), "로")  # 알로
        self.assertEqual(particle("png", "이(가)"), "가")  # 피엔지, not a word
        self.assertEqual(particle("string", "이(가)"), "이")  # 스트링

    def test_quotes_after_the_word_are_skipped(self) -> None:
        self.assertEqual(
            resolve("이미지 “그림.png”을(를) 찾을 수 없습니다."),
            "이미지 “그림.png”를 찾을 수 없습니다.",
        )
        self.assertEqual(resolve("사용자 “김철수”이(가) 없습니다."), "사용자 “김철수”가 없습니다.")

    def test_unknown_reading_keeps_both_forms(self) -> None:
        self.assertEqual(particle("", "을(를)"), "을(를)")
        self.assertEqual(resolve("“@#”을(를) 지웠습니다."), "“@#”을(를) 지웠습니다.")

    def test_resolve_every_marker_in_a_message(self) -> None:
        text = "캠페인 봄학기은(는) 닫혔고 세트 가을이(가) 서울(으)로 갔습니다."
        self.assertEqual(resolve(text), "캠페인 봄학기는 닫혔고 세트 가을이 서울로 갔습니다.")

    def test_template_filter_keeps_escaping(self) -> None:
        template = Template("{% load itembank_tags %}{{ text|josa }}")
        html = template.render(Context({"text": "책 <사과>을(를)"}))
        self.assertEqual(html, "책 &lt;사과&gt;를")
