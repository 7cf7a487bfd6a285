"""Real handwriting: the IAM-OnDB importer (lines split into words at pen gaps), writer-disjoint
holdouts, the `real` recipe's sources and licences, and stage 2's real-data batches."""
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bench.data.build import real as recipe
from bench.data.readers.holdout import Holdout
from bench.data.readers.iamondb import SplitStats, read_form_writers, split_line, words_of
from bench.errors import BenchError

RESERVED = ("GrHound/UnipenTools2023", "jschaefer738b/JosephHookerHTR", "HTRomance-Project/middle-ages-in-spain",
            "HCDigitalScholarship/handwriting", "Eyelessdude/handwritten-chinese-characters-dataset")


def _word(x0, n_letters=3, step=30.0, y0=100.0):
    """Strokes of a word: one short vertical stroke per letter, letters ``step`` apart (10 wide)."""
    return [np.array([[x0 + k * step, y0], [x0 + k * step + 10, y0 + 60]], dtype=np.float32) for k in range(n_letters)]


def _line_xml(strokes):
    body = "".join('<Stroke colour="black" start_time="0" end_time="1">'
                   + "".join(f'<Point x="{int(x)}" y="{int(y)}" time="0"/>' for x, y in s) + "</Stroke>"
                   for s in strokes)
    return ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<WhiteboardCaptureSession><WhiteboardDescription>'
            '<SensorLocation corner="top_left"/></WhiteboardDescription><StrokeSet>' + body
            + "</StrokeSet></WhiteboardCaptureSession>")


def _corpus(root, forms):
    """An IAM-OnDB-shaped folder: forms = {form id: (writer, [line texts], [line strokes])}."""
    for form, (writer, texts, lines) in forms.items():
        a = root / "data" / "ascii" / form[:3] / form[:7]
        a.mkdir(parents=True, exist_ok=True)
        (a / f"{form}.txt").write_text("OCR:\n\nignored\n\nCSR:\n\n" + "\n".join(texts) + "\n", encoding="latin-1")
        s = root / "data" / "lineStrokes" / form[:3] / form[:7]
        s.mkdir(parents=True, exist_ok=True)
        for no, strokes in enumerate(lines, start=1):
            (s / f"{form}-{no:02d}.xml").write_text(_line_xml(strokes), encoding="latin-1")
        o = root / "original" / form[:3] / form[:7]
        o.mkdir(parents=True, exist_ok=True)
        if writer is not None:
            (o / f"strokes{form[-1]}.xml").write_text(
                f'<?xml version="1.0"?>\n<WhiteboardCaptureSession><General><Form id="{form}" writerID="{writer}"/>'
                "</General></WhiteboardCaptureSession>", encoding="latin-1")


def test_punctuation_tokens_join_the_word_they_were_written_with():
    assert words_of('" A MOVE to stop Mr . Gaitskell ,') == ['"A', "MOVE", "to", "stop", "Mr.", "Gaitskell,"]


def test_contractions_join_and_struck_out_words_stay_ink():
    assert words_of("you 'll haemorrhage") == ["you'll", "haemorrhage"]
    assert words_of("Foot ' s hat") == ["Foot's", "hat"]
    assert words_of("into # existence , they") == ["into", "#", "existence,", "they"]


def test_a_split_shifted_from_the_letter_counts_is_refused():
    # every word's width fits its letters within 3x and the gaps are clear, yet the transcript's
    # letter counts put the cuts elsewhere: the labels are shifted against the ink
    def line(letters):
        strokes, x = [], 0
        for k in letters:
            strokes += _word(x, k)
            x += (k - 1) * 30 + 10 + 90
        return strokes

    stats = SplitStats()
    strokes = line([5, 5, 4, 9, 3, 3, 7])
    assert split_line(strokes, ["x" * k for k in (9, 3, 6, 6, 3, 7, 5)], stats) is None
    assert stats.reasons == {"a word gap far from where the letter counts put it": 1}
    assert split_line(strokes, ["x" * k for k in (5, 5, 4, 9, 3, 3, 7)], SplitStats()) is not None


def test_a_line_splits_at_its_widest_pen_gaps():
    strokes = _word(0, 3) + _word(200, 2) + _word(400, 4)
    groups = split_line(strokes, ["cat", "is", "here"], SplitStats())
    assert [len(g) for g in groups] == [3, 2, 4]
    assert max(float(np.concatenate(groups[0])[:, 0].max()), 0) < 200


def test_a_split_that_is_not_clear_is_refused_and_counted():
    stats = SplitStats()
    # gaps of 20 inside the words, 25 between them: not clearly wider
    strokes = _word(0, 3) + _word(95, 3)
    assert split_line(strokes, ["abc", "def"], stats) is None
    assert split_line(_word(0, 3), ["a", "b", "c", "d"], stats) is None  # more words than gaps
    assert stats.reasons == {"word gaps not clearly wider than letter gaps": 1, "fewer pen gaps than words": 1}
    # widths that do not fit the letters: a one-letter word as wide as a long one
    assert split_line(_word(0, 8) + _word(400, 8), ["a", "bcdefghijklmno"], stats) is None


def test_a_form_that_two_files_give_different_writers_is_left_out(tmp_path):
    for name, form, writer in (("strokesz.xml", "a01-013z", "10156"), ("strokesw.xml", "a01-013z", "10026"),
                               ("strokesu.xml", "a01-013u", "10001")):
        d = tmp_path / "a01" / "a01-013"
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(f'<r><Form id="{form}" writerID="{writer}"/></r>')
    assert read_form_writers(tmp_path) == {"a01-013u": "10001"}  # a01-013w and a01-013z are ambiguous


def test_import_iam_ondb_splits_words_and_holds_writers_out(tmp_path):
    line = _word(0, 3) + _word(200, 2)
    forms = {f"a01-{k:03d}u": (f"w{k}", ["The cat", "is ."], [line, _word(0, 2)]) for k in range(12)}
    forms["a02-000u"] = (None, ["lost line"], [line])  # unknown writer: left out
    _corpus(tmp_path, forms)
    out = tmp_path / "ds"
    r = subprocess.run([sys.executable, "-m", "bench", "data", "import", "iam-ondb", str(tmp_path / "data"),
                        "--writers", str(tmp_path / "original"), "--out", str(out), "--split", "train",
                        "--holdout", "real:0.5", "--no-progress"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "1 lines of forms whose writer is unknown" in r.stderr
    df = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    assert len(df) == 12 * 3 and set(df["text"]) == {"The", "cat", "is."}
    assert df.groupby("style")["split"].nunique().max() == 1  # writer-disjoint
    assert set(df["split"]) == {"train", "real"}
    h = Holdout("real", 0.5)
    assert all(s == h.split_of(w.removeprefix("iam-ondb-"), "train") for w, s in zip(df["style"], df["split"]))
    img = Image.open(out / df["path"][0])
    assert img.mode == "L" and img.size[0] > img.size[1]
    meta = json.loads((out / "dataset.json").read_text())
    src = meta["sources"][0]
    assert src["format"] == "iam-ondb" and src["holdout"]["split"] == "real" and "research" in src["licence"]


def test_a_form_whose_line_files_outnumber_its_transcript_is_left_out(tmp_path):
    from bench.data.readers.iamondb import read_iamondb

    line = _word(0, 3) + _word(200, 2)
    _corpus(tmp_path, {"a01-000u": ("w1", ["The cat"], [line, line]), "a01-001u": ("w1", ["The cat"], [line])})
    files, _ = read_iamondb(tmp_path / "data", {"a01-000u": "w1", "a01-001u": "w1"})
    assert [len(f.words) for f in files] == [0, 2]
    assert files[0].notes == {"lines of forms whose line count differs from the transcript's": 2}


def test_import_iam_ondb_without_writers_is_one_line(tmp_path):
    _corpus(tmp_path, {"a01-000u": ("w1", ["a b"], [_word(0, 1) + _word(200, 1)])})
    r = subprocess.run([sys.executable, "-m", "bench", "data", "import", "iam-ondb", str(tmp_path / "data"),
                        "--writers", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "--writers not found" in r.stderr


def test_holdout_is_a_stable_share_of_writers():
    h = Holdout.parse("real:0.3")
    writers = [f"w{k}" for k in range(2000)]
    held = [w for w in writers if h.held_out(w)]
    assert 0.26 < len(held) / len(writers) < 0.34
    assert held == [w for w in writers if Holdout("real", 0.3).held_out(w)]
    with pytest.raises(BenchError):
        Holdout.parse("real:1.5")


def test_george_washington_codes_decode():
    assert recipe.decode_gw("L-e-t-t-e-r-s-s_cm") == "Letters,"
    assert recipe.decode_gw("s_2-s_7-s_0-s_pt") == "270."
    assert recipe.decode_gw("w-i-t-h-s_sq") == "with;" and recipe.decode_gw("H-o-g-g-s_qt-s") == "Hogg's"
    assert recipe.decode_gw("s_1st-s_pt") == "1st." and recipe.decode_gw("u-n-l-e-s_s-s") == "unless"
    assert recipe.decode_gw("a-s_zz") is None  # an unknown code: no sample rather than a wrong label


def test_the_held_out_writers_stay_the_same():
    # the writers of the stored `real` runs: a silent re-split would put trained writers in `real`
    h = recipe.HOLDOUT
    got = {w: h.split_of(w, "train") for w in ("10058", "10026", "10156", "chinese-mnist-001", "chinese-mnist-002")}
    assert got == {"10058": "real", "10026": "real", "10156": "train", "chinese-mnist-001": "train",
                   "chinese-mnist-002": "train"}
    assert Holdout.parse("real:0.3") == h  # the CLI's --holdout real:0.3 is the recipe's


def test_a_writer_in_two_splits_is_refused(tmp_path):
    pd.DataFrame({"path": ["a.png", "b.png"], "text": ["x", "y"], "semantic_id": [-1, -1], "lang": ["en", "en"],
                  "style": ["w1", "w1"], "split": ["train", "real"]}).to_csv(tmp_path / "manifest.csv", index=False)
    with pytest.raises(BenchError, match="w1"):
        recipe.check_writer_disjoint(tmp_path)


def test_every_real_source_records_repository_commit_and_licence():
    srcs = recipe.sources()
    assert {"iam-ondb", "chinese-mnist", "george-washington"} <= set(srcs)
    for s in srcs.values():
        assert re.fullmatch(r"[0-9a-f]{40}", s["commit"]), s["name"]
        assert s["licence"] and s["weights"] and s["repository"].count("/") == 1
        assert not any(s["repository"].startswith(r) for r in RESERVED)


def test_chinese_mnist_rows_keep_each_writer_in_one_split(tmp_path):
    from bench.data.readers.importing import Labels

    (tmp_path / "data" / "data").mkdir(parents=True)
    rows = ["suite_id,sample_id,code,value,character"]
    for suite in range(1, 21):
        for code, ch in ((1, "零"), (2, "一")):
            Image.new("L", (64, 64), 255).save(tmp_path / "data" / "data" / f"input_{suite}_1_{code}.jpg")
            rows.append(f"{suite},1,{code},{code - 1},{ch}")
    (tmp_path / "chinese_mnist.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    stage = tmp_path / "stage"
    got = recipe.chinese_mnist_rows(tmp_path, stage, Labels(None), Holdout("real", 0.5), "train")
    df = pd.DataFrame(got)
    assert len(df) == 40 and set(df["text"]) == {"零", "一"} and set(df["split"]) == {"train", "real"}
    assert df.groupby("style")["split"].nunique().max() == 1
    assert all((stage / p).is_file() for p in df["path"])


def _real_folder(tmp_path, rows):
    """A dataset folder of plain word images: rows = [(text, lang, semantic_id, split)]."""
    from tests.test_ours_train import _render

    (tmp_path / "img").mkdir(parents=True, exist_ok=True)
    recs = []
    for k, (text, lang, sid, split) in enumerate(rows):
        _render(text, lang, k).save(tmp_path / "img" / f"{k}.png")
        recs.append({"path": f"img/{k}.png", "text": text, "semantic_id": sid, "lang": lang, "style": f"w{k % 3}",
                     "split": split})
    pd.DataFrame(recs).to_csv(tmp_path / "manifest.csv", index=False)
    return tmp_path


def test_real_images_are_augmented_deterministically():
    from ours.real_data import augment_real, ink_mask
    from tests.test_ours_train import _render

    img = _render("tree", "en", 0).resize((160, 64))
    a, b = augment_real(img, "k", 5), augment_real(img, "k", 5)
    assert a.mode == "L" and np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(augment_real(img, "k", 6)))
    m = np.asarray(ink_mask(img))
    assert m.max() == 255 and np.median(m) == 0  # ink high, paper zero


def test_mixed_batches_hold_the_real_slots_and_are_a_function_of_the_epoch(tmp_path):
    from ours.data import FnSource, Item
    from ours.real_data import MixSource, RealSource, mixed_sampler
    from tests.test_ours_train import IDS, WORDS, _render

    synth = FnSource([Item(w, lang, i) for lang in WORDS for w, i in zip(WORDS[lang], IDS[lang])], _render)
    rows = [("dog", "en", 0, "train"), ("house", "en", -1, "train"), ("walked", "en", -1, "train"),
            ("house", "en", -1, "train"), ("sol", "es", 2, "train"), ("cat", "en", 1, "real")]
    real = RealSource(_real_folder(tmp_path, rows), "train", ["en", "es"], charset=None)
    assert len(real.items) == 5  # the `real` row is not training data
    mix = MixSource(synth, real)
    groups = [it.group for it in mix.items]
    s = mixed_sampler(mix, groups, batch_size=10, instances=2, seed=1, slots={"en": 2, "es": 2})
    assert s.batch_size == 10
    for epoch in (0, 3):
        bs = s.batches(epoch)
        assert bs == mixed_sampler(mix, groups, 10, 2, 1, {"en": 2, "es": 2}).batches(epoch)
        for b in bs:
            real_rows = [mix.items[i] for i in b if i >= mix.n_synth]
            assert len(b) == 10 and len(real_rows) == 4
            assert sum(it.lang == "en" for it in real_rows) == 2 and sum(it.lang == "es" for it in real_rows) == 2
    with pytest.raises(BenchError):
        mixed_sampler(mix, groups, 10, 2, 1, {"zh": 2})


def test_stage_two_trains_on_real_rows_including_ones_it_cannot_spell(tmp_path):
    import copy

    from tests.test_ours_train import CFG, _tiny_tower
    from ours.train import train

    rows = [("dog", "en", 0, "train"), ("house", "en", -1, "train"), ("gatoñ", "es", -1, "train"),
            ("sol", "es", 2, "train"), ("perro", "es", 0, "train"), ("cat", "en", 1, "real")]
    folder = _real_folder(tmp_path / "real", rows)
    cfg = copy.deepcopy(CFG)
    cfg["stage1"]["source"] = {"kind": "synth", "real": str(folder), "real_slots": {"en": 2, "es": 2}}
    cfg["words"] = {"en": ["dog", "cat", "sun", "tree", "house"], "es": ["perro", "gato", "sol", "árbol", "casa"]}
    cfg["ids"] = {"en": [0, 1, 2, 3, 4], "es": [0, 1, 2, 3, 4]}
    import ours.train_data as td
    from tests.test_ours_train import _render
    from ours.data import FnSource, Item

    synth = FnSource([Item(w, lang, i) for lang in cfg["words"] for w, i in zip(cfg["words"][lang], cfg["ids"][lang])],
                     _render)
    from ours.config import SourceConfig

    spec = SourceConfig(kind="synth", real=str(folder), real_slots={"en": 2, "es": 2})
    source = td.with_real(synth, spec, cfg["words"])
    assert "1 aligned but not spelled" in source.describe()  # ñ is not in the charset of these words
    run = train(cfg, tmp_path / "run", sources={1: source}, text_tower=_tiny_tower(), progress=False,
                stop_after_steps=3)
    log = pd.read_csv(run / "log.csv")
    assert len(log) == 3 and np.isfinite(log["loss"]).all() and (log["ctc"] > 0).all()


def test_a_held_out_split_is_never_training_data(tmp_path):
    from ours.real_data import RealSource

    folder = _real_folder(tmp_path, [("dog", "en", 0, "train"), ("cat", "en", 1, "real")])
    (folder / "dataset.json").write_text(json.dumps({"name": "r", "sources": [
        {"format": "iam-ondb", "holdout": {"split": "real", "share_of_writers": 0.3}}]}))
    with pytest.raises(BenchError, match="held out"):
        RealSource(folder, "real", ["en"], charset=None)
    assert len(RealSource(folder, "train", ["en"], charset=None).items) == 1
    from ours.data import ManifestSource

    with pytest.raises(BenchError, match="held out"):  # `ours train --manifest DIR --manifest-split real`
        ManifestSource(folder, "real", ["en"])
    assert [it.text for it in ManifestSource(folder, None, ["en"]).items] == ["dog"]  # all splits but the held out


@pytest.mark.parametrize("name", ["real", "real-distill", "real-distill-ctc", "real-distill-fresh", "ablate-real"])
def test_the_real_configs_train_on_the_train_split_only(name):
    from ours.config import read_config

    cfg = read_config(name)
    stages = (cfg.stage1, cfg.stage2) if name != "ablate-real" else (cfg.stage2,)
    for stage in stages:
        assert stage.source.real and stage.source.real_split == "train"
    if name == "ablate-real":  # Table 5 trains from scratch: stage 1 synthetic, stage 2 the real stage
        assert cfg.init is None and not cfg.stage1.source.real and cfg.stage1.images >= 300000
    assert recipe.HOLDOUT.split == "real"


def test_light_ink_on_dark_paper_reads_like_dark_on_light():
    from ours.preprocess import to_array
    from ours.real_data import ink_mask
    from tests.test_ours_train import _render

    img = _render("tree", "en", 0)
    neg = Image.fromarray(255 - np.asarray(img))  # Chinese-MNIST stores strokes this way
    assert np.allclose(to_array(neg), to_array(img), atol=0.04)  # up to the resize's rounding (two grey levels)
    assert np.array_equal(np.asarray(ink_mask(neg)), np.asarray(ink_mask(img)))


def test_the_model_card_lists_every_real_source_and_what_its_licence_allows():
    from ours.config import read_config
    from ours.model_card import data_licences

    text = "\n".join(data_licences(read_config("real")))
    for s in recipe.sources().values():
        assert s["repository"] in text and s["commit"][:12] in text and s["weights"] in text
    assert "non-commercial research" in text
    assert "real," not in "\n".join(data_licences(read_config("warm-read")))


def test_polarity_follows_the_paper_not_the_grey_level():
    from PIL import ImageDraw

    from ours.preprocess import light_on_dark, to_array

    def ink_high(img):
        return 1.0 - np.asarray(img, dtype=np.float32) / 255.0

    bold = Image.new("L", (60, 24), 255)  # a tight crop with more ink than paper
    ImageDraw.Draw(bold).rectangle([3, 3, 56, 20], fill=0)
    assert not light_on_dark(ink_high(bold))
    dark_paper = Image.new("L", (80, 30), 110)  # under-exposed: dark paper, darker ink
    ImageDraw.Draw(dark_paper).line([(10, 15), (70, 15)], fill=30, width=3)
    assert not light_on_dark(ink_high(dark_paper))
    neg = Image.fromarray(255 - np.asarray(dark_paper))
    assert light_on_dark(ink_high(neg))
    a = to_array(bold)
    assert a[10, 30] > a[1, 1]  # ink stays high


def test_real_augmentation_does_not_depend_on_where_the_folder_lies(tmp_path):
    import shutil

    from ours.real_data import RealSource

    a = _real_folder(tmp_path / "a", [("dog", "en", 0, "train")])
    b = tmp_path / "b"
    shutil.copytree(a, b)
    x = RealSource(a, "train", ["en"], charset=None).load(0, 7)
    y = RealSource(b, "train", ["en"], charset=None).load(0, 7)
    assert np.array_equal(np.asarray(x), np.asarray(y))


def test_the_reading_loss_spells_only_what_the_charset_can_and_reads_past_edge_punctuation():
    import torch

    from ours.data import Item
    from ours.losses import LossConfig, ctc_loss
    from ours.preprocess import to_array
    from ours.train import build_model, step_loss
    from ours.vocab import ctc_targets
    from tests.test_ours_train import CFG, WORDS, _render, _tiny_tower

    model = build_model(CFG, WORDS, _tiny_tower())
    model.train()
    items = [Item("dog,", "en", -1), Item("gatoñ", "es", -1), Item("Sol", "es", 2), Item("cat", "en", 1)]
    x = torch.stack([torch.from_numpy(to_array(_render(it.text, it.lang, k)))[None] for k, it in enumerate(items)])
    gindex = {it.group: k for k, it in enumerate(items)}
    torch.manual_seed(0)
    with torch.no_grad():
        _, logs = step_loss(model, x, items, gindex, LossConfig(ctc=True), torch.device("cpu"))
        _, mid = model.image.forward_train(x.contiguous(memory_format=torch.channels_last))
        keep = [0, 2, 3]  # "gatoñ": ñ is not in the charset; "dog," is spelled "dog"
        want = ctc_loss(model.ctc(mid)[:, keep], ctc_targets(["dog", "sol", "cat"], model.charset))
    assert logs["ctc"] == pytest.approx(float(want), rel=1e-5)


def test_no_words_is_its_own_reason():
    from bench.data.readers.gaps import cut_spans

    assert cut_spans([(0.0, 5.0), (9.0, 12.0)], []) == (None, "no words in the transcript")
    assert cut_spans([], ["a"], what="ink") == (None, "fewer ink gaps than words")
