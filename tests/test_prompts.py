"""The VLLM prompts and the post-processor, on answers shaped like real model outputs."""
import pytest

from adapters._prompts import MAX_NEW_TOKENS, PROMPTS, clean_transcription, prompt_for


@pytest.mark.parametrize("raw, lang, expected", [
    ('The word is "perro".', "es", "perro"),
    ("**狗**", "zh", "狗"),
    ("dog\nThis is a handwritten English word meaning a domestic animal.", "en", "dog"),
    ("「水」", "zh", "水"),
    ("  casa.  ", "es", "casa"),
    ("The handwritten word is: árbol", "es", "árbol"),
    ("La palabra es «corazón».", "es", "corazón"),
    ("这个词是：苹果。", "zh", "苹果"),
    ("答案：面包", "zh", "面包"),
    ("月 亮", "zh", "月亮"),
    ("```\nriver\n```", "en", "river"),
    ("Answer: Moon", "en", "Moon"),
    ('It says "libro" in Spanish.', "es", "libro"),
    ("<think>looks like cursive</think>\nbread", "en", "bread"),
    ("¿pan?", "es", "pan"),
    ("- **Tree**", "en", "Tree"),
    ("《书》", "zh", "书"),
    ("  \n\nfish<|im_end|>", "en", "fish"),
    ("", "en", ""),
    # issue 27: a lead-in alone on its line, and a gloss after the word
    ("The word is:\nperro", "es", "perro"),
    ("**The handwritten word is:**\n\n**árbol**", "es", "árbol"),
    ("答案：\n面包", "zh", "面包"),
    ("perro (dog)", "es", "perro"),
    ('The word is "perro" (dog).', "es", "perro"),
    ("水（water）", "zh", "水"),
    ("casa [house]", "es", "casa"),
])
def test_clean_transcription(raw, lang, expected):
    assert clean_transcription(raw, lang) == expected


def test_clean_keeps_case_accents_and_inner_punctuation():
    assert clean_transcription("Río", "es") == "Río"
    assert clean_transcription("well-being", "en") == "well-being"
    assert clean_transcription("ñandú", "es") == "ñandú"


def test_clean_does_not_strip_words_that_start_like_a_prefix():
    assert clean_transcription("wordsmith", "en") == "wordsmith"
    assert clean_transcription("answers", "en") == "answers"


def test_prompts_name_the_language_and_ask_for_the_word_only():
    assert set(PROMPTS) == {"en", "zh", "es"}
    assert "English" in prompt_for("en") and "simplified Chinese" in prompt_for("zh")
    assert "Spanish" in prompt_for("es") and "accents" in prompt_for("es")
    for lang in PROMPTS:
        assert "only" in prompt_for(lang)
    assert "French" not in prompt_for("fr") and "'fr'" in prompt_for("fr")
    assert 4 <= MAX_NEW_TOKENS <= 32
