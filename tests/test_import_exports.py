"""The importers on files shaped like real archive exports (issue 26): Transkribus PAGE with stale word
text, eScriptorium ALTO with one String per line and NFD labels, CROHME and IMADOC-style InkML,
UNIPEN with undelineated segments; bench data validate and stats on what they make; bench run's
warning for line-level splits; and a round trip per format (import -> validate -> run)."""
import json
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bench.cli import main
from bench.dataset import Dataset
from tests import export_fixtures as X
from tests import importer_fixtures as F
from tests.badinput.realformats import lexicon_csv

lxml = pytest.importorskip("lxml", reason="pip install 'xscript-bench[formats]' (lxml)")


@pytest.fixture(scope="module")
def lex(tmp_path_factory):
    return lexicon_csv(tmp_path_factory.mktemp("lex") / "lex.csv")


def _import(fmt, src, out, *extra, lex=None, lang="en"):
    args = ["data", "import", fmt, str(src), "--out", str(out), "--no-progress"]
    args += ["--lexicon", str(lex)] if lex else ["--no-lexicon"]
    args += ["--lang", lang] if lang else []
    return main(args + [str(e) for e in extra])


def _samples(out) -> pd.DataFrame:
    return Dataset.load(out).samples


def _source(out) -> dict:
    return json.loads((Path(out) / "dataset.json").read_text())["sources"][-1]


def _crop_matches_polygon(crop_path: Path, page: np.ndarray, poly, mark) -> None:
    """The crop is the polygon's box cut from the page, white at the mark outside the polygon."""
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    x0, y0 = int(min(xs)), int(min(ys))
    crop = np.asarray(Image.open(crop_path).convert("RGB"))
    assert crop.shape[:2] == (int(max(ys)) + 1 - y0, int(max(xs)) + 1 - x0)
    assert (page[mark[1], mark[0]] == F.BLOB).all() or page[mark[1], mark[0]][0] > 200 > page[mark[1], mark[0]][1]
    assert (crop[mark[1] - y0, mark[0] - x0] == 255).all()  # outside the polygon: white
    mid = crop.shape[0] // 2
    assert np.abs(crop[mid].astype(int) - page[y0 + mid, x0:x0 + crop.shape[1]].astype(int)).max() <= 1


# --- PAGE (Transkribus) -----------------------------------------------------------------------------
def test_page_stale_word_text_gives_the_corrected_line(tmp_path, lex, capsys):
    """Item 1: words that disagree with their corrected line: the line is cropped, counted, --trust words."""
    root, polys = X.write_transkribus(tmp_path / "src", "0001.jpg")
    assert _import("page-xml", root, tmp_path / "ds", lex=lex) == 0
    err = capsys.readouterr().err
    assert "1 line(s) whose words disagree with the line text (the corrected lines were cropped whole" in err
    s = _samples(tmp_path / "ds").set_index("text")
    assert "31st Dec/79" in s.index and "35" not in s.index and "Duc/79" not in s.index
    assert {"dog", "cat"} <= set(s.index)  # words that agree with their line stay words
    page = np.asarray(Image.open(root / "doc" / "0001.jpg").convert("RGB"))
    line = s.loc["31st Dec/79"]
    _crop_matches_polygon(tmp_path / "ds" / line["path"], page, polys["l1"], (polys["l1"][2][0] - 2, polys["l1"][0][1] + 1))
    assert _source(tmp_path / "ds")["counts"] == {"line(s) whose words disagree with the line text": 1,
                                                  "line(s) without transcribed words, cropped whole": 1}
    assert _import("page-xml", root, tmp_path / "words", "--trust", "words", lex=lex) == 0
    assert {"35", "Duc/79"} <= set(_samples(tmp_path / "words")["text"])


def test_page_lines_without_words_are_kept_and_counted(tmp_path, lex, capsys):
    """Item 2: a line without words in a file with words is cropped whole; an empty line is counted."""
    root, _ = X.write_transkribus(tmp_path / "src", "0001.jpg")
    assert _import("page-xml", root, tmp_path / "ds", lex=lex) == 0
    assert "1 line(s) without transcribed words, cropped whole" in capsys.readouterr().err
    s = _samples(tmp_path / "ds")
    assert "house" in set(s["text"])
    src = _source(tmp_path / "ds")
    assert src["left_out"] == {"no transcription": 1} and src["produced"] == {"line": 2, "word": 3}
    assert src["level"] == "mixed"


def test_page_reading_order_textequiv_index_and_conf(tmp_path, lex):
    """Item 13: ReadingOrder puts r2 first; TextEquiv index=1 beats none; the higher conf wins a tie."""
    root, _ = X.write_transkribus(tmp_path / "src", "0001.jpg")
    assert _import("page-xml", root, tmp_path / "ds", lex=lex) == 0
    s = _samples(tmp_path / "ds")
    assert list(s["text"]) == ["agua", "31st Dec/79", "dog", "cat", "house"]
    assert list(s["id"].str.rsplit("/", n=1).str[-1]) == ["w5", "l1", "w3", "w4", "l3"]


def test_page_language_and_writer_from_the_file(tmp_path, lex, capsys):
    """Item 12: primaryLanguage per region (no --lang needed); the default writer is named in the summary."""
    root, _ = X.write_transkribus(tmp_path / "src")
    assert _import("page-xml", root, tmp_path / "ds", lex=lex, lang=None) == 0
    err = capsys.readouterr().err
    assert "1 by default, one per page file (--writer-by page) (5 samples)" in err
    assert "languages from the files: en 4, es 1" in err
    s = _samples(tmp_path / "ds").set_index("text")
    assert s.loc["agua", "lang"] == "es" and s.loc["agua", "semantic_id"] == 2  # es column of the lexicon
    assert s.loc["dog", "lang"] == "en" and s.loc["dog", "semantic_id"] == 0
    assert _import("page-xml", root, tmp_path / "one", "--writer-by", "source", lex=lex, lang=None) == 0
    assert set(_samples(tmp_path / "one")["style"]) == {"page-src"}
    bare = tmp_path / "bare"
    shutil.copytree(root, bare)
    xml = bare / "doc" / "page" / "0001.xml"
    xml.write_text(xml.read_text().replace(' primaryLanguage="English"', ""))
    assert _import("page-xml", bare, tmp_path / "nolang", lex=lex, lang=None) == 2
    assert "no language in the file; pass --lang" in capsys.readouterr().err


def test_page_image_named_with_another_extension(tmp_path, lex, capsys):
    """Item 11: the XML names 0001.tif, the export holds 0001.jpg: used, and said."""
    root, _ = X.write_transkribus(tmp_path / "src")
    assert _import("page-xml", root, tmp_path / "ds", lex=lex) == 0
    assert "1 page image(s) found under another extension than the file names: 0001.tif -> 0001.jpg" in \
        capsys.readouterr().err
    assert len(_samples(tmp_path / "ds")) == 5 and _source(tmp_path / "ds")["other_extension_images"] == 1


# --- ALTO (eScriptorium) ----------------------------------------------------------------------------
def test_alto_words_or_lines_per_line_every_crop_masked(tmp_path, lex):
    """Item 3: a single-token String no longer flips the page to words: lines in one String are lines,
    masked by their polygon; the word-segmented line gives words; dataset.json says what was made."""
    root, polys = X.write_escriptorium(tmp_path / "src")
    assert _import("alto", root, tmp_path / "ds", lex=lex) == 0
    s = _samples(tmp_path / "ds").set_index("text")
    assert list(s.index) == ["the dog.", "CAT", "árbol", "& house", "log", "water", "tree"]
    page = np.asarray(Image.open(root / "scan.png").convert("RGB"))
    for i, (text, _) in enumerate(X.ESCRIPTORIUM_LINES):
        _crop_matches_polygon(tmp_path / "ds" / s.loc[unicodedata.normalize("NFC", text), "path"], page,
                              polys[f"l{i}"], polys[f"mark{i}"])
    src = _source(tmp_path / "ds")
    assert src["produced"] == {"line": 5, "word": 2} and src["level"] == "mixed"


def test_alto_labels_kept_as_written_concepts_only_exact(tmp_path, lex, capsys):
    """Item 4: text as written; a concept on an exact match after normalization; homographs none."""
    root, _ = X.write_escriptorium(tmp_path / "src")
    assert _import("alto", root, tmp_path / "ds", lex=lex) == 0
    assert "5 of 7 labels match a lexicon word exactly (after normalization)" in capsys.readouterr().err
    s = _samples(tmp_path / "ds").set_index("text")["semantic_id"].to_dict()
    assert s == {"the dog.": -1, "CAT": 1, "árbol": 3, "& house": 4, "log": -1, "water": 2, "tree": 3}
    homo = tmp_path / "homographs.csv"
    homo.write_text(lex.read_text() + "5,test:log-wood,log,木头,tronco,test,\n6,test:log-math,Log,对数,logaritmo,test,\n",
                    encoding="utf-8")
    # two concepts whose words normalize alike cannot be told apart by any label: such a lexicon is
    # refused before any work (issue 25), naming both words, rather than guessing a concept
    assert _import("alto", root, tmp_path / "homo", lex=homo) == 2
    err = capsys.readouterr().err
    assert "'log' (semantic_id 5) and 'Log' (semantic_id 6)" in err and not (tmp_path / "homo").exists()


def test_alto_nfd_labels_become_nfc(tmp_path, lex, capsys):
    """Item 5: an NFD label is stored in NFC, and the summary says so."""
    root, _ = X.write_escriptorium(tmp_path / "src")
    assert unicodedata.normalize("NFD", "árbol") in (root / "scan.xml").read_text(encoding="utf-8")
    assert _import("alto", root, tmp_path / "ds", lex=lex) == 0
    assert "1 label(s) normalized to Unicode NFC" in capsys.readouterr().err
    texts = list(_samples(tmp_path / "ds")["text"])
    assert "árbol" in texts and all(unicodedata.is_normalized("NFC", t) for t in texts)


def test_alto_ids_are_stable_across_re_exports(tmp_path, lex):
    """Item 13: Strings without an ID are named by their place, not their XML line number."""
    root, polys = X.write_escriptorium(tmp_path / "src")
    assert _import("alto", root, tmp_path / "a", lex=lex) == 0
    (root / "scan.xml").write_text(X.escriptorium_xml(polys, extra_newlines=True), encoding="utf-8")
    assert _import("alto", root, tmp_path / "b", lex=lex) == 0
    a, b = _samples(tmp_path / "a"), _samples(tmp_path / "b")
    assert list(a["id"]) == list(b["id"]) and a["id"].iloc[-1].endswith("/eSc_line_w_s1")


def test_duplicates_refused_and_files_chosen_by_glob(tmp_path, lex, capsys):
    """Item 10: x.chocomufin.xml beside x.xml, or a byte-identical copy, is refused; globs choose."""
    root, polys = X.write_escriptorium(tmp_path / "src")
    (root / "scan.chocomufin.xml").write_text(X.escriptorium_xml(polys, texts={1: "cat"}), encoding="utf-8")
    assert _import("alto", root, tmp_path / "ds", lex=lex) == 2
    err = capsys.readouterr().err.strip()
    assert "describe the same regions of scan.png" in err and "--exclude '*.chocomufin.xml'" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "ds").exists()
    assert _import("alto", root, tmp_path / "ds", "--exclude", "*.chocomufin.xml", lex=lex) == 0
    assert len(_samples(tmp_path / "ds")) == 7
    (root / "copy").mkdir()
    shutil.copy(root / "scan.xml", root / "copy" / "scan.xml")
    assert _import("alto", root, tmp_path / "ds2", "--exclude", "*.chocomufin.xml", lex=lex) == 2
    assert "are identical files" in capsys.readouterr().err
    assert _import("alto", root, tmp_path / "ds3", "--include", "scan.chocomufin.xml", lex=lex) == 0
    assert "cat" in set(_samples(tmp_path / "ds3")["text"])
    assert _import("alto", root, tmp_path / "ds4", "--limit", "1", lex=lex) == 0  # copy/scan.xml, first sorted
    assert _source(tmp_path / "ds4")["files"] == 1
    assert _import("alto", root, tmp_path / "ds5", "--include", "*.nothing", lex=lex) == 2
    assert "no ALTO files left after --include/--exclude" in capsys.readouterr().err


def test_messages_name_the_file_without_question_marks(tmp_path, capsys):
    """Item 13: an empty XML file, and a folder without ALTO files, give clean one-line messages."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "empty.xml").write_bytes(b"")
    assert _import("alto", tmp_path / "src", tmp_path / "ds") == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("empty.xml: empty file, not XML") and ":?" not in err
    (tmp_path / "src" / "empty.xml").write_text('<PcGts xmlns="x"/>')
    assert _import("alto", tmp_path / "src", tmp_path / "ds") == 2
    err = capsys.readouterr().err
    assert "whose root element is <alto>" in err and "a alto" not in err


def test_hf_parquet_error_is_not_cut_off(tmp_path, capsys):
    """Item 13: pyarrow's explanation (its last words) is kept whole."""
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    assert _import("hf", tmp_path / "junk.parquet", tmp_path / "ds") == 2
    assert capsys.readouterr().err.strip().endswith("this is not a parquet file.)")


# --- InkML and UNIPEN -------------------------------------------------------------------------------
def test_crohme_non_ncname_ids_read_and_a_bad_file_reported(tmp_path, lex, capsys):
    """Item 6: xml:id "(_1" / "1_1" no longer refuse the file; a broken file is reported, not fatal.
    Item 4: the math symbol "\\log" keeps its text and takes no concept, though "log" is a lexicon word."""
    root = X.write_crohme(tmp_path / "src")
    with_log = tmp_path / "log.csv"
    with_log.write_text(lex.read_text() + "5,test:log,log,木头,tronco,test,\n", encoding="utf-8")
    assert _import("inkml", root, tmp_path / "ds", lex=with_log) == 0
    err = capsys.readouterr().err
    assert "file left out: " in err and "expr_002.inkml" in err and "not well-formed XML" in err
    assert "2 math symbol(s) get no concept" in err
    s = _samples(tmp_path / "ds")
    assert list(s["text"]) == ["\\log", "x"] and set(s["style"]) == {"inkml-crohme-w17"}
    assert list(s["semantic_id"]) == [-1, -1] and _source(tmp_path / "ds")["files_unreadable"] == 1


def test_imadoc_annotationxml_labels_writer_and_language(tmp_path, capsys):
    """Items 7 and 12: labels in annotationXML Ground truth, the writer block, the language annotation."""
    root = X.write_imadoc(tmp_path / "src")
    assert _import("inkml", root, tmp_path / "ds", lang=None) == 0
    s = _samples(tmp_path / "ds")
    assert list(s["text"]) == ["maison", "chat", "été"]  # NFD été stored in NFC
    assert set(s["style"]) == {"inkml-scripteur_07"} and set(s["lang"]) == {"fr"}
    err = capsys.readouterr().err
    assert "writers: 1 named in the files (3 samples)" in err and "languages from the files: fr 3" in err
    for p in s["path"]:
        assert (np.asarray(Image.open(tmp_path / "ds" / p).convert("L")) < 128).mean() > 0.02


def test_unipen_undelineated_segment_is_left_out_and_counted(tmp_path, capsys):
    """Item 13: a ``?`` delineation no longer aborts the file."""
    root = F.write_unipen(tmp_path / "src")
    data = root / "data" / "w07.dat"
    data.write_text(data.read_text() + '.SEGMENT WORD ? ? "cat"\n', encoding="ascii")
    assert _import("unipen", root, tmp_path / "ds") == 0
    assert "1 unknown delineation (?)" in capsys.readouterr().err
    assert sorted(_samples(tmp_path / "ds")["text"]) == ["dog", "water"]


# --- validate, stats, the run's warning -------------------------------------------------------------
def test_validate_reports_and_fails_on_broken_datasets(tmp_path, lex, capsys):
    """Item 8: a clean import validates; missing image, NFD label, a wrong concept and a duplicate do not."""
    root, _ = X.write_escriptorium(tmp_path / "src")
    out = tmp_path / "ds"
    assert _import("alto", root, out, lex=lex) == 0
    capsys.readouterr()
    assert main(["data", "validate", str(out)]) == 0
    rep = capsys.readouterr().out
    assert rep.splitlines()[-1] == "ok" and "0 error(s)" in rep and "import alto: 7 samples from 1 file(s)" in rep
    assert "1 labels normalized to NFC" in rep
    m = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    Path(out / m.loc[0, "path"]).unlink()
    m.loc[1, ["text", "semantic_id"]] = [unicodedata.normalize("NFD", "ñandú"), "-1"]
    m.loc[2, "semantic_id"] = "0"  # árbol -> dog
    shutil.copy(out / m.loc[4, "path"], out / m.loc[3, "path"])
    m.to_csv(out / "manifest.csv", index=False)
    assert main(["data", "validate", str(out)]) == 1
    rep = capsys.readouterr().out
    assert "error: 1 image(s) missing or unreadable" in rep and "warning: 1 label(s) not stored in Unicode NFC" in rep
    assert "error: 1 sample(s) whose semantic_id names another word" in rep and "'árbol' -> 0 ('perro')" in rep
    assert "warning: 1 image(s) byte-identical" in rep and rep.splitlines()[-1] == "not ok"


def test_stats_shows_any_split_name(tmp_path, lex, capsys):
    """Item 9: a ``test`` split is counted, not shown as zeros."""
    root, _ = X.write_escriptorium(tmp_path / "src")
    assert _import("alto", root, tmp_path / "ds", "--split", "test", lex=lex) == 0
    capsys.readouterr()
    assert main(["data", "stats", "--dataset", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out
    head = next(line for line in out.splitlines() if line.startswith("lang"))
    assert "test samples" in head and "ood samples" not in head
    total = next(line for line in out.splitlines() if line.startswith("total")).split()
    assert total[1:] == ["7", "1"]


def _manifest_dataset(root: Path, texts: list[str]) -> Path:
    root.mkdir(parents=True)
    rows = []
    for i, t in enumerate(texts):
        F.page_image([(t, 4, 4)], size=(240, 60))[0].save(root / f"{i}.png")
        rows.append({"path": f"{i}.png", "text": t, "semantic_id": -1, "lang": "en", "style": "s", "split": "ood"})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    return root


@pytest.mark.parametrize("texts,warned", [(["the dog", "a cat sat", "old tree", "house"], True),
                                          (["dog", "cat", "old tree", "house"], False)])
def test_run_warns_when_a_split_is_mostly_lines(tmp_path, with_plugin, capsys, texts, warned):
    """Item 14: bench run says when a split is mostly multi-word lines."""
    ds = _manifest_dataset(tmp_path / "ds", texts)
    assert main(["run", "--adapters", "plugin-const", "--dataset", str(ds), "--results-dir", str(tmp_path / "r"),
                 "--no-progress", "--quiet", "--latency-samples", "1"]) == 0
    err = capsys.readouterr().err
    assert ("split 'ood' is mostly multi-word lines (3 of 4 labels hold several words)" in err) is warned


# --- round trips ------------------------------------------------------------------------------------
ROUND_TRIPS = {
    "page-xml": (lambda p: X.write_transkribus(p)[0], ["--writer-by", "source"], {"en": 4, "es": 1}),
    "alto": (lambda p: X.write_escriptorium(p)[0], ["--lang", "en"], {"en": 6, "es": 1}),
    "inkml": (lambda p: X.write_crohme(p), ["--lang", "en"], {"en": 2}),  # tesseract reads en, not fr
    "unipen": (lambda p: F.write_unipen(p), ["--lang", "en"], {"en": 2}),
}


@pytest.mark.parametrize("fmt", sorted(ROUND_TRIPS))
def test_round_trip_import_validate_run(fmt, tmp_path, lex, with_plugin):
    """Import -> bench data validate -> bench run, per format, on the files the tests write; a real OCR
    engine (tesseract) reads the crops when it is installed, else the plug-in's pixel engine."""
    from bench import registry

    make, extra, langs = ROUND_TRIPS[fmt]
    out = tmp_path / "ds"
    assert _import(fmt, make(tmp_path / "src"), out, *extra, lex=lex, lang=None) == 0
    assert main(["data", "validate", str(out)]) == 0
    engine = "tesseract" if registry.get("tesseract").availability().ok else "plugin-pixels"
    results = tmp_path / "results"
    assert main(["run", "--adapters", f"plugin-const,{engine}", "--dataset", str(out), "--results-dir", str(results),
                 "--no-progress", "--quiet", "--latency-samples", "1"]) == 0
    (run_dir,) = list((results / "runs").iterdir())
    for lang, n in langs.items():
        for name in ("plugin-const", engine):
            job = json.loads((run_dir / "jobs" / name / "ood" / f"within-{lang}.json").read_text())
            assert job["status"] == "done" and job["metrics"]["n"] == n, (name, lang, job.get("status"))
