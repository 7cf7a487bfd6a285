"""bench data split-words: line images cut into words at their widest ink gaps, on lines drawn here
with known word and letter gaps; lines whose cut is not clear dropped and counted; the output a
complete dataset folder; one-line errors; the same accept/refuse rule as the IAM-OnDB pen split."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from bench.cli import main
from bench.data.readers.iamondb import SplitStats, split_line
from bench.data.readers.split_words import word_boxes
from bench.dataset import Dataset, write_dataset

H = 40
LETTER, LETTER_GAP, WORD_GAP = 8, 3, 30  # a letter is a bar 8 px wide; 3 px between letters, 30 between words


def draw_line(words: list[str], word_gap: int = WORD_GAP, letter_gap: int = LETTER_GAP, paper: int = 255,
              ink: int = 0, masked: bool = False) -> tuple[Image.Image, list[tuple[int, int]]]:
    """A line image with each letter of each word a bar; returns it and each word's ink columns
    [x0, x1). ``masked``: paper gray inside a band, pure white above and below it (the importers paint
    what is outside a line's polygon white), so three gray levels compete for the threshold."""
    width = 10 + sum(len(w) * (LETTER + letter_gap) - letter_gap for w in words) + word_gap * (len(words) - 1) + 10
    im = Image.new("L", (width, H), 255 if masked else paper)
    d = ImageDraw.Draw(im)
    if masked:
        d.rectangle((0, 4, width - 1, H - 5), fill=paper)
    x, spans = 10, []
    for w in words:
        x0 = x
        for _ in w:
            d.rectangle((x, 10, x + LETTER - 1, 29), fill=ink)
            x += LETTER + letter_gap
        spans.append((x0, x - letter_gap))
        x += word_gap - letter_gap
    return im.convert("RGB"), spans


def lexicon(path: Path) -> Path:
    path.write_text("semantic_id,key,en\n0,cat,cat\n1,dog,dog\n", encoding="utf-8")
    return path


def make_src(root: Path, lines: dict[str, tuple[Image.Image, str]], with_lexicon: bool = True) -> Path:
    """A line dataset folder as an import writes it: images, manifest (ids, styles, splits), lexicon."""
    rows = []
    for n, (ident, (im, text)) in enumerate(lines.items()):
        rel = f"images/lines/{n:03d}.png"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        im.save(root / rel)
        rows.append({"id": ident, "path": rel, "text": text, "semantic_id": -1, "lang": "en",
                     "style": f"hand-{n % 2}", "split": "ood" if n % 2 else "test"})
    lex = lexicon(root / "lexicon.csv") if with_lexicon else None
    write_dataset(root, pd.DataFrame(rows), name="lines", lexicon=lex.name if lex else None,
                  fingerprint="f1ngerpr1nt")
    return root


def run(src, out, *extra) -> int:
    return main(["data", "split-words", str(src), "--out", str(out), *[str(e) for e in extra]])


def _in_gap(x: int, left_end: int | None, right_start: int | None) -> bool:
    return (left_end is None or x >= left_end) and (right_start is None or x <= right_start)


@pytest.mark.parametrize("masked", [False, True])
def test_each_crop_boundary_lands_in_a_word_gap(masked):
    words = ["cat", "is", "here", "now"]
    # a gray scan (paper 140, ink 30) with white around it: Otsu over every pixel would call the paper ink
    im, spans = draw_line(words, paper=140 if masked else 255, ink=30 if masked else 0, masked=masked)
    boxes, reason = word_boxes(im, words)
    assert reason == "" and len(boxes) == 4
    for i, ((x0, y0, x1, y1), (s0, s1)) in enumerate(zip(boxes, spans)):
        assert x0 <= s0 and x1 >= s1  # the whole word inside its crop
        assert _in_gap(x0, spans[i - 1][1] if i else None, s0)  # and nothing of its neighbours
        assert _in_gap(x1, s1, spans[i + 1][0] if i + 1 < len(spans) else None)
        assert y0 <= 10 and y1 >= 30 and y1 - y0 < H  # trimmed to the ink rows plus a margin
    assert boxes[0][0] > 0 and boxes[-1][2] < im.width  # trimmed at the line's ends too


def test_dust_neither_closes_a_word_gap_nor_stretches_a_crop():
    im, spans = draw_line(["cat", "dog"])
    d = ImageDraw.Draw(im)
    mid = spans[0][1] + 15
    d.point([(mid, 20), (mid + 1, 20), (mid, 21)], fill=(0, 0, 0))  # a 3-pixel speck mid-gap
    d.point((spans[0][0] + 2, 1), fill=(0, 0, 0))  # a lone dust pixel above "cat"
    boxes, reason = word_boxes(im, ["cat", "dog"])
    assert reason == "" and boxes[0][2] <= spans[1][0]
    assert boxes[0][1] == 10 - 2  # the crop starts at the ink's top row less the margin, not at the dust


def test_equal_gaps_or_too_few_gaps_are_not_clear():
    im, _ = draw_line(["ab", "cd"], word_gap=LETTER_GAP)  # four bars, all gaps equal
    assert word_boxes(im, ["ab", "cd"]) == (None, "word gaps not clearly wider than letter gaps")
    im, _ = draw_line(["abc"])
    assert word_boxes(im, ["a", "b", "c", "d"]) == (None, "fewer ink gaps than words")


def test_min_gap_ratio_decides_how_clear_is_clear():
    im, _ = draw_line(["cat", "dog"], word_gap=2 * LETTER_GAP)  # word gap twice the letter gap
    assert word_boxes(im, ["cat", "dog"], gap_ratio=1.5)[0] is not None
    assert word_boxes(im, ["cat", "dog"], gap_ratio=2.5) == (None, "word gaps not clearly wider than letter gaps")


def test_the_same_rule_as_the_iam_ondb_pen_split():
    """One geometry as ink and as pen strokes: both splits accept or refuse it alike."""
    for word_gap, want in ((WORD_GAP, True), (LETTER_GAP + 1, False)):
        im, spans = draw_line(["cat", "is"], word_gap=word_gap)
        letters = [(x, x + LETTER - 1) for x in range(spans[0][0], spans[0][1], LETTER + LETTER_GAP)] + \
                  [(x, x + LETTER - 1) for x in range(spans[1][0], spans[1][1], LETTER + LETTER_GAP)]
        strokes = [np.array([[a, 10.0], [b, 29.0]], dtype=np.float32) for a, b in letters]
        stats = SplitStats()
        pen = split_line(strokes, ["cat", "is"], stats)
        ink, reason = word_boxes(im, ["cat", "is"])
        assert (pen is not None) == (ink is not None) == want
        if not want:
            assert list(stats.reasons) == [reason]


def test_split_words_writes_a_word_dataset(tmp_path, capsys):
    split_im, split_spans = draw_line(["Cat", "dog,", "bird"])
    one, _ = draw_line(["dog"])
    vague, _ = draw_line(["ab", "cd"], word_gap=LETTER_GAP)
    src = make_src(tmp_path / "src", {"doc/l1": (split_im, "Cat dog, bird"), "doc/l2": (one, "dog"),
                                      "doc/l3": (vague, "ab cd")})
    assert run(src, tmp_path / "words", "--no-progress") == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(tmp_path / "words")
    assert "split-words lines" not in err  # --no-progress: no bar
    assert ("split-words: 3 lines in; 1 split into 3 words, 1 one-word lines kept as they are; 4 words out; "
            "1 lines dropped: 1 split not clear (word gaps not clearly wider than letter gaps)") in err
    ds = Dataset.load(tmp_path / "words")
    rows = ds.samples.to_dict("records")
    assert [(r["id"], r["text"], r["semantic_id"], r["style"], r["split"], r["lang"]) for r in rows] == [
        ("doc/l1-w0", "Cat", 0, "hand-0", "test", "en"), ("doc/l1-w1", "dog,", 1, "hand-0", "test", "en"),
        ("doc/l1-w2", "bird", -1, "hand-0", "test", "en"), ("doc/l2-w0", "dog", 1, "hand-1", "ood", "en")]
    widths = [Image.open(ds.root / r["path"]).width for r in rows[:3]]
    for wd, (s0, s1) in zip(widths, split_spans):  # each crop: one word's ink plus margins inside the gaps
        assert s1 - s0 <= wd <= s1 - s0 + WORD_GAP
    assert (ds.root / rows[3]["path"]).read_bytes() == (src / "images/lines/001.png").read_bytes()  # as it was
    meta = json.loads((ds.root / "dataset.json").read_text())
    source = meta["sources"][-1]
    assert meta["lexicon"] == "lexicon.csv" and (ds.root / "lexicon.csv").read_bytes() == (src / "lexicon.csv").read_bytes()
    assert source["format"] == "split-words" and source["path"] == str(src.resolve())
    assert source["fingerprint"] == "f1ngerpr1nt" and source["settings"]["min_gap_ratio"] == 1.5
    assert source["left_out"] == {"split not clear (word gaps not clearly wider than letter gaps)": 1}
    assert (source["lines"], source["lines_split"], source["one_word_lines"], source["words"]) == (3, 1, 1, 4)


def test_a_source_without_lexicon_gives_words_without_concepts(tmp_path):
    im, _ = draw_line(["cat", "dog"])
    src = make_src(tmp_path / "src", {"l1": (im, "cat dog")}, with_lexicon=False)
    assert run(src, tmp_path / "words", "--no-progress") == 0
    ds = Dataset.load(tmp_path / "words")
    assert ds.lexicon is None and ds.samples["semantic_id"].tolist() == [-1, -1]


def _one_line_error(capsys, *parts: str) -> None:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for p in parts:
        assert p in err, err


def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path, capsys):
    assert run(tmp_path / "nowhere", tmp_path / "words") == 2
    _one_line_error(capsys, "dataset folder not found", "nowhere")
    assert not (tmp_path / "words").exists()
    im, _ = draw_line(["cat", "dog"])
    src = make_src(tmp_path / "src", {"l1": (im, "cat dog")})
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    assert run(src, tmp_path / "full") == 2
    _one_line_error(capsys, "--out folder is not empty", "full")
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["keep.txt"]
    assert run(src, src / "words") == 2
    _one_line_error(capsys, "inside the source dataset")
    vague, _ = draw_line(["ab", "cd"], word_gap=LETTER_GAP)
    src2 = make_src(tmp_path / "src2", {"l1": (vague, "ab cd")})
    assert run(src2, tmp_path / "none", "--no-progress") == 2  # every line dropped: no dataset, one line why
    _one_line_error(capsys, "no words from", "1 split not clear")
    assert not (tmp_path / "none").exists()
    assert run(src, tmp_path / "r", "--min-gap-ratio", "0.5") == 2
    _one_line_error(capsys, "--min-gap-ratio must be at least 1")


def test_sources_differing_only_by_extension_get_their_own_folders(tmp_path, capsys):
    """``img/a.png`` and ``img/a.jpg`` both name a folder ``img/a``: each line's words must still land in
    files of their own, and the manifest must name each once."""
    src = tmp_path / "src"
    lines = {"l-png": ("img/a.png", ["cat", "dog"]), "l-jpg": ("img/a.jpg", ["bird", "is", "here"]),
             "l-one": ("img/b.png", ["cat"]), "l-one2": ("img/b.jpg", ["dog"])}
    rows = []
    for ident, (rel, words) in lines.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        draw_line(words)[0].save(src / rel, quality=95)
        rows.append({"id": ident, "path": rel, "text": " ".join(words), "semantic_id": -1, "lang": "en",
                     "style": "hand-0", "split": "test"})
    write_dataset(src, pd.DataFrame(rows), name="lines", lexicon=lexicon(src / "lexicon.csv").name)
    assert run(src, tmp_path / "words", "--no-progress") == 0
    assert "4 lines in; 2 split into 5 words, 2 one-word lines kept" in capsys.readouterr().err
    ds = Dataset.load(tmp_path / "words")
    out = ds.samples.to_dict("records")
    assert [r["text"] for r in out] == ["cat", "dog", "bird", "is", "here", "cat", "dog"]
    paths = [r["path"] for r in out]
    assert len({p.casefold() for p in paths}) == 7
    assert len({Path(p).parent for p in paths}) == 4  # one folder per source line
    im_png, spans_png = draw_line(["cat", "dog"])
    im_jpg, spans_jpg = draw_line(["bird", "is", "here"])
    for r, (s0, s1) in zip(out[:5], spans_png + spans_jpg):  # each crop is its own line's word
        assert s1 - s0 <= Image.open(ds.root / r["path"]).width <= s1 - s0 + WORD_GAP


def test_a_folder_name_is_never_taken_twice():
    from bench.data.readers.split_words import Folders

    f = Folders()
    assert f.pick("img/a.png", ["00.png", "01.png"]) == "img/a"
    assert f.pick("img/a.jpg", ["00.png"]) == "img/a_jpg"
    assert f.pick("img/a_jpg.png", ["00.png"]) not in ("img/a", "img/a_jpg")
    assert f.pick("IMG/A.png", ["00.png"]) not in ("img/a", "IMG/A")  # a case-insensitive disk
    # a folder whose path is a file already given out, or whose files would be folders given out
    assert f.pick("img/a/00.png.tif", ["00.png"]) != "img/a/00.png"
    g = Folders()
    g.pick("x/y/00.png/z.png", ["00.png"])
    assert g.pick("x/y.png", ["00.png"]) != "x/y"
    assert Folders(reserved=("manifest.csv",)).pick("manifest.csv.png", ["00.png"]) == "manifest.csv_png"


def test_punctuation_tokens_join_their_word_as_the_pen_split_does(tmp_path, capsys):
    """"Mr . Foot" (IAM's spacing) and "Bonjour !" (French spacing): the punctuation has no ink gap of
    its own, so it joins its word, by the IAM-OnDB importer's rule (one function for both)."""
    from bench.data.readers import iamondb, split_words as sw

    assert sw.words_of is iamondb.words_of
    mr, mr_spans = draw_line(["Mr.", "Foot"])
    hello, _ = draw_line(["Bonjour!"])
    quote, _ = draw_line(['"cat', "dog"])
    dots, _ = draw_line(["..."])
    src = make_src(tmp_path / "src", {"l1": (mr, "Mr . Foot"), "l2": (hello, "Bonjour !"), "l3": (quote, '" cat dog'),
                                      "l4": (dots, ". . .")})
    assert run(src, tmp_path / "words", "--no-progress") == 0
    err = capsys.readouterr().err
    assert ("split-words: 4 lines in; 2 split into 4 words, 1 one-word lines kept as they are; 5 words out; "
            "1 lines dropped: 1 no word, only punctuation") in err
    rows = Dataset.load(tmp_path / "words").samples.to_dict("records")
    assert [(r["id"], r["text"]) for r in rows] == [("l1-w0", "Mr."), ("l1-w1", "Foot"), ("l2-w0", "Bonjour!"),
                                                   ('l3-w0', '"cat'), ("l3-w1", "dog")]


def test_a_stand_alone_ampersand_or_dash_drops_the_line(tmp_path, capsys):
    """An "&" or a spaced dash is drawn with gaps of its own, so the word rule (which joins
    punctuation to its word) would put a cut beside it and mislabel a crop: such a line is dropped
    and counted. A dash inside a word ("well-known") or a one-word line with "&" are not touched."""
    from bench.data.readers.split_words import APART, has_apart_symbol

    assert has_apart_symbol("cat & dog") and has_apart_symbol("1738 - Washington") and has_apart_symbol("a \u2014 b")
    assert not has_apart_symbol("well-known cat") and not has_apart_symbol("cat, dog.")
    amp, _ = draw_line(["cat", "&", "dog"])
    dash, _ = draw_line(["cat", "-", "dog"])
    hyph, _ = draw_line(["well-known", "dog"])
    src = make_src(tmp_path / "src", {"l1": (amp, "cat & dog"), "l2": (dash, "cat - dog"), "l3": (hyph, "well-known dog")})
    assert run(src, tmp_path / "words", "--no-progress") == 0
    assert f"2 {APART}" in capsys.readouterr().err
    rows = Dataset.load(tmp_path / "words").samples.to_dict("records")
    assert [(r["id"], r["text"]) for r in rows] == [("l3-w0", "well-known"), ("l3-w1", "dog")]
