from search.analysis import split_latex, tokenize


def test_particles_and_endings_are_dropped() -> None:
    assert tokenize("광합성에 필요한") == tokenize("광합성을 필요로 하는")
    tokens = tokenize("광합성에 필요한 물질로 옳은 것은?")
    assert "광합성" in tokens and "물질" in tokens
    assert not {"에", "로", "은", "?"} & set(tokens)


def test_domain_words_stay_whole() -> None:
    assert "삼각형" in tokenize("삼각형 ABC에서 꼭짓점 A의 좌표는?")
    assert "abc" in tokenize("삼각형 ABC에서")


def test_latex_spacing_and_braces_do_not_matter() -> None:
    assert tokenize("다음 식 $x^2 + 1$ 의 값") == tokenize("다음 식 $x^{2}+1$의 값")


def test_latex_commands_and_numbers_are_tokens() -> None:
    prose, math = split_latex(r"분수 $\frac{3}{4}$ 를 소수로")
    assert "\\frac" in math and "3" in math and "4" in math
    assert "frac" not in prose


def test_display_math_is_recognised() -> None:
    assert "\\sqrt" in tokenize(r"다음을 계산하시오. $$\sqrt{16}$$")
