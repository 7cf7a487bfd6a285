"""PAGE-XML, ALTO, InkML, UNIPEN and Hugging Face imports on tiny files in their real formats: what each
importer reads and crops or renders, one clear line for damaged input, and each import end to end
through bench run, bench table and bench report."""
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.cli import main
from bench.dataset import Dataset
from tests import importer_fixtures as F
from tests.badinput.realformats import lexicon_csv

try:
    import lxml  # noqa: F401
except ImportError:  # the XML formats need the formats extra; Hugging Face and Parquet tests run without it
    lxml = None
needs_lxml = pytest.mark.skipif(lxml is None, reason="pip install 'xscript-bench[formats]' (lxml)")


@pytest.fixture(scope="module")
def lex(tmp_path_factory):
    return lexicon_csv(tmp_path_factory.mktemp("lex") / "lex.csv")


def _import(fmt, src, out, *extra, lex=None):
    args = ["data", "import", fmt, str(src), "--out", str(out), "--no-progress"]
    args += ["--lexicon", str(lex)] if lex else ["--no-lexicon"]
    if "--lang" not in extra:
        args += ["--lang", "en"]
    return main(args + [str(e) for e in extra])


def _rows(out) -> dict:
    return {r["text"]: r for r in Dataset.load(out).samples.to_dict("records")}


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench: error: "), err
    for n in needles:
        assert n in err[0], (n, err[0])
    return err[0]


def _nothing_left(out: Path):
    assert not out.exists() and not list(out.parent.glob(".importing-*"))


def _ink(im) -> np.ndarray:
    return np.asarray(im.convert("L")) < 128


# --- PAGE-XML -------------------------------------------------------------------------------------
@needs_lxml
def test_page_xml_crops_word_polygons_and_leaves_out_a_missing_image(tmp_path, lex, capsys):
    (root, boxes) = F.write_page_set(tmp_path / "src")
    out = tmp_path / "ds"
    assert _import("page-xml", root, out, lex=lex) == 0
    err = capsys.readouterr().err
    assert "1 page image(s) missing" in err and "0003.xml -> 0003.png" in err
    assert "2 line(s) without transcribed words, cropped whole" in err and "1 no transcription" in err
    rows = _rows(out)
    assert sorted(rows) == ["Dog", "cat", "house", "tree", "water"]  # Dog kept as written, the lexicon's dog
    rows["dog"] = rows.pop("Dog")
    assert [rows[w]["semantic_id"] for w in ("dog", "cat", "water", "tree", "house")] == [0, 1, 2, 3, 4]
    assert rows["dog"]["style"] == rows["cat"]["style"] == "page-Anna_Smith"  # named in the line's custom
    assert rows["house"]["style"] == "page-doc/page/0001" and rows["tree"]["style"] == "page-doc/page/0002"
    page = np.asarray(Image.open(root / "doc" / "0001.png").convert("RGB"))
    x, y, w, h = boxes["dog"]
    dog = np.asarray(Image.open(out / rows["dog"]["path"]).convert("RGB"))
    assert np.array_equal(dog, page[y:y + h + 1, x:x + w + 1])  # a rectangle: the box exactly
    x, y, w, h = boxes["house"]
    house = np.asarray(Image.open(out / rows["house"]["path"]).convert("RGB"))
    assert house.shape[:2] == (h + 1, w + 1)
    assert (page[y:y + 4, x + w - 5:x + w] == F.BLOB).all()  # the mark is on the page ...
    assert (house[:4, -5:] == 255).all()  # ... outside the polygon: white in the crop
    assert np.array_equal(house[10:, :], page[y + 10:y + h + 1, x:x + w + 1])
    water = Image.open(out / rows["water"]["path"])  # a line with only a baseline: a band around it
    assert _ink(water).sum() > 100 and water.height > 20


@needs_lxml
def test_page_xml_line_level(tmp_path, capsys):
    root, _ = F.write_page_set(tmp_path / "src")
    assert _import("page-xml", root, tmp_path / "ds", "--level", "line") == 0
    assert sorted(_rows(tmp_path / "ds")) == ["Dog cat", "house", "tree", "water"]


@needs_lxml
def test_page_xml_damaged_file_is_one_line_and_leaves_nothing(tmp_path, capsys):
    root, _ = F.write_page_set(tmp_path / "src", damaged=True)
    assert _import("page-xml", root, tmp_path / "ds") == 2
    _one_line_error(capsys, "0001.xml:", "<Word id=w2>/<Coords>", "'12,a 40,40'")
    _nothing_left(tmp_path / "ds")
    bad = tmp_path / "broken.xml"
    bad.write_text('<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"><Page>')
    assert _import("page-xml", bad, tmp_path / "ds") == 2
    _one_line_error(capsys, "broken.xml:1:", "not well-formed XML")
    _nothing_left(tmp_path / "ds")


# --- ALTO -----------------------------------------------------------------------------------------
@needs_lxml
def test_alto_joins_a_hyphenated_word_and_rescales_to_the_image(tmp_path, lex, capsys):
    root, boxes = F.write_alto(tmp_path / "src")
    assert _import("alto", root, tmp_path / "ds", lex=lex) == 0
    rows = _rows(tmp_path / "ds")
    assert sorted(rows) == ["house", "the", "tree"]  # hou- + se: one word, SUBS_CONTENT's text
    assert rows["house"]["semantic_id"] == 4 and {r["style"] for r in rows.values()} == {"alto-Jules"}
    the = Image.open(tmp_path / "ds" / rows["the"]["path"])
    assert abs(the.width - boxes["the"][2]) <= 2 and abs(the.height - boxes["the"][3]) <= 2  # page at half size
    house = Image.open(tmp_path / "ds" / rows["house"]["path"])
    halves = boxes["hou"][2] + boxes["se"][2]
    assert halves < house.width <= halves + 4 + max(boxes["hou"][3], boxes["se"][3]) // 8 + 2
    assert _import("alto", root, tmp_path / "lines", "--level", "line") == 0
    assert sorted(_rows(tmp_path / "lines")) == ["se tree", "the hou-"]


@needs_lxml
@pytest.mark.parametrize("fmt", ["alto", "page-xml"])
def test_line_type_keeps_only_the_lines_of_that_type(tmp_path, fmt, capsys):
    root = F.write_typed_lines(tmp_path / "src", fmt)
    assert _import(fmt, root, tmp_path / "all") == 0
    assert sorted(_rows(tmp_path / "all")) == ["above", "hand", "plain", "typed"]  # without it nothing changes
    assert "line type" not in capsys.readouterr().err
    assert _import(fmt, root, tmp_path / "hw", "--line-type", "handwritten") == 0
    rows = _rows(tmp_path / "hw")
    assert sorted(rows) == ["above", "hand"]  # DefaultLine:Handwritten and InterlinearLine:Handwritten
    assert "bench: left out: 2 line type not 'handwritten'" in capsys.readouterr().err.splitlines()
    if fmt == "alto":  # the block's writer tag is no line type, and still names the writer
        assert {r["style"] for r in rows.values()} == {"alto-Ann"}
    assert json.loads((tmp_path / "hw" / "dataset.json").read_text())["sources"][-1]["line_type"] == "handwritten"
    assert _import(fmt, root, tmp_path / "tw", "--line-type", "TYPEWRITTEN") == 0
    assert sorted(_rows(tmp_path / "tw")) == ["typed"]
    capsys.readouterr()
    assert _import(fmt, root, tmp_path / "none", "--line-type", "signature") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bench: left out: 4 line type not 'signature'",
                   f"bench: error: no words imported from {root} (4 line(s) whose type is not 'signature')"]
    _nothing_left(tmp_path / "none")


@needs_lxml
def test_line_type_leaves_a_hyphenated_word_unpaired_when_its_second_line_is_left_out(tmp_path):
    """``hou`` ends a kept handwritten line, marked only by HYP (no SUBS_CONTENT), and ``se`` opens a
    typewritten line that --line-type leaves out: ``hou`` is an unpaired half, not joined to the first
    word of the next kept line."""
    from bench.data.readers.alto import read_alto

    def s(text, x, y):
        return f'<String CONTENT="{text}" HPOS="{x}" VPOS="{y}" WIDTH="50" HEIGHT="30"/>'

    def line(ident, tag, *strings):
        return f'<TextLine ID="{ident}" TAGREFS="{tag}" HPOS="0" VPOS="0" WIDTH="300" HEIGHT="30">{"<SP/>".join(strings)}'

    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<alto xmlns="{F.ALTO_NS}"><Description><MeasurementUnit>pixel'
           f'</MeasurementUnit><sourceImageInformation><fileName>scan.png</fileName></sourceImageInformation>'
           f'</Description><Tags><OtherTag ID="HW" LABEL="DefaultLine:Handwritten"/>'
           f'<OtherTag ID="TW" LABEL="DefaultLine:Typewritten"/></Tags><Layout><Page ID="p1" WIDTH="400" HEIGHT="200">'
           f'<PrintSpace><TextBlock ID="b1">'
           + line("l1", "HW", s("the", 10, 10), s("hou", 100, 10)) + '<HYP CONTENT="-"/></TextLine>'
           + line("l2", "TW", s("se", 10, 60), s("tree", 100, 60)) + "</TextLine>"
           + line("l3", "HW", s("cat", 10, 110), s("dog", 100, 110)) + "</TextLine>"
           + "</TextBlock></PrintSpace></Page></Layout></alto>\n")
    (tmp_path / "scan.xml").write_text(xml, encoding="utf-8")
    page = read_alto(tmp_path / "scan.xml", line_type="handwritten")
    assert [r.text for r in page.regions] == ["the", "cat", "dog"]  # no "houcat"
    assert page.notes == {"line type not 'handwritten'": 1, "unpaired hyphenation part": 1}
    every = read_alto(tmp_path / "scan.xml")  # without the filter the halves join
    assert [r.text for r in every.regions] == ["the", "house", "tree", "cat", "dog"] and not every.notes


@needs_lxml
def test_alto_damaged_file_is_one_line(tmp_path, capsys):
    root, _ = F.write_alto(tmp_path / "src", damaged=True)
    assert _import("alto", root, tmp_path / "ds") == 2
    _one_line_error(capsys, "scan.xml:", "<String id=s_the>", "CONTENT")
    _nothing_left(tmp_path / "ds")


# --- InkML and UNIPEN -----------------------------------------------------------------------------
@needs_lxml
def test_inkml_two_writers_rendered_with_a_fixed_pen(tmp_path, lex, capsys):
    from bench.data.readers.inkml import read_inkml

    root = F.write_inkml(tmp_path / "src")
    diff = read_inkml(root / "session1.inkml")  # first-difference encoded traces, through traceViews
    assert [w.text for w in diff.words] == ["tree", "house"] and diff.level == "word"
    assert np.allclose(diff.words[0].strokes[3], F.strokes_for("tree")[3] + [100, 0])
    out = tmp_path / "ds"
    assert _import("inkml", root, out, lex=lex) == 0
    rows = _rows(out)
    assert {w: (r["semantic_id"], r["style"]) for w, r in rows.items()} == {
        "dog": (0, "inkml-alice"), "cat": (1, "inkml-alice"), "tree": (3, "inkml-bob"), "house": (4, "inkml-bob")}
    for r in rows.values():
        im = Image.open(out / r["path"])
        assert im.mode == "L" and 40 < im.height < 200 and _ink(im).mean() > 0.03
    again = tmp_path / "again"
    assert _import("inkml", root, again, lex=lex) == 0  # a fixed pen: the same pixels every time
    assert all((out / r["path"]).read_bytes() == (again / r["path"]).read_bytes() for r in rows.values())
    assert _import("inkml", root, tmp_path / "aug", "--augment", lex=lex) == 0
    assert (tmp_path / "aug" / rows["dog"]["path"]).read_bytes() != (out / rows["dog"]["path"]).read_bytes()


@needs_lxml
def test_inkml_import_feeds_ours_train_manifest(tmp_path):
    pytest.importorskip("torch")
    from ours.data import ManifestSource

    out = tmp_path / "ds"
    assert _import("inkml", F.write_inkml(tmp_path / "src"), out, "--split", "train") == 0
    src = ManifestSource(out, "train", ["en"])
    assert sorted(i.text for i in src.items) == ["cat", "dog", "house", "tree"]
    assert src.load(0, 0).mode == "L"


@needs_lxml
def test_inkml_damaged_file_is_reported_and_left_out(tmp_path, capsys):
    src = F.write_inkml(tmp_path / "src", damaged=True)
    assert _import("inkml", src, tmp_path / "ds") == 0  # one bad file does not refuse the corpus ...
    err = capsys.readouterr().err
    assert "file left out: " in err and "session1.inkml:" in err and "<trace id=t0>" in err
    assert sorted(_rows(tmp_path / "ds")) == ["cat", "dog"]
    assert _import("inkml", src / "session1.inkml", tmp_path / "one") == 2  # ... but nothing readable is an error
    _one_line_error(capsys, "session1.inkml:", "<trace id=t0>", "is not 2 numbers")
    _nothing_left(tmp_path / "one")


def _centroid_x(mask: np.ndarray) -> float:
    return float(np.nonzero(mask)[1].mean())


def test_unipen_include_writer_segments_and_y_axis(tmp_path, lex, capsys):
    from bench.data.readers.unipen import read_unipen

    root = F.write_unipen(tmp_path / "src")
    ink = read_unipen(root / "data" / "w07.dat")  # a pen-up block with points (hover) is a component
    water = F.strokes_for("water")
    assert [w.text for w in ink.words] == ["dog", "water"] and len(ink.words[1].strokes) == len(water)
    assert np.allclose(ink.words[1].strokes[0], np.floor(water[0]) * [1, -1] + [0, 1000])
    out = tmp_path / "ds"
    assert _import("unipen", root, out, lex=lex) == 0
    assert "1 marked BAD" in capsys.readouterr().err
    rows = _rows(out)
    assert {w: (r["semantic_id"], r["style"]) for w, r in rows.items()} == {"dog": (0, "unipen-w07"),
                                                                             "water": (2, "unipen-w07")}
    ink = _ink(Image.open(out / rows["dog"]["path"]))
    band = ink.shape[0] // 4  # upright: d's ascender (left) on top, g's descender (right) below
    assert _centroid_x(ink[:band]) < _centroid_x(ink[-band:])
    assert _import("unipen", root, tmp_path / "down", "--y-axis", "down") == 0
    flipped = _ink(Image.open(tmp_path / "down" / rows["dog"]["path"]))
    assert _centroid_x(flipped[:band]) > _centroid_x(flipped[-band:])


def test_unipen_segment_beyond_the_strokes_is_one_line(tmp_path, capsys):
    assert _import("unipen", F.write_unipen(tmp_path / "src", damaged=True), tmp_path / "ds") == 2
    _one_line_error(capsys, "w07.dat:6:", ".SEGMENT names components")
    _nothing_left(tmp_path / "ds")


# --- Hugging Face ---------------------------------------------------------------------------------
def test_hf_parquet_embeds_png_and_jpeg_bytes(tmp_path, lex):
    root = F.write_hf_parquet(tmp_path / "src")
    out = tmp_path / "ds"
    assert _import("hf", root, out, lex=lex) == 0
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "lexicon.csv", "manifest.parquet"]
    ds = Dataset.load(out)
    assert ds.embedded is not None and ds.splits == ["test"]
    rows = {r["text"]: r for r in ds.samples.to_dict("records")}
    assert {w: (r["semantic_id"], r["style"]) for w, r in rows.items()} == {
        "dog": (0, "hf-src-w1"), "cat": (1, "hf-src-w1"), "house": (4, "hf-src-w2"), "tree": (3, "hf-src-w2")}
    assert rows["dog"]["path"].endswith(".png") and rows["cat"]["path"].endswith(".jpg")
    for word, r in rows.items():
        im = ds.load_image(r["path"])
        ref = Image.open(io.BytesIO(F.image_bytes(word, "PNG")))
        assert im.mode == "RGB" and im.size == ref.size
        diff = np.abs(np.asarray(im.convert("L"), float) - np.asarray(ref.convert("L"), float))
        assert diff.mean() < (0.01 if r["path"].endswith(".png") else 6.0)  # PNG exact, JPEG close


def test_hf_saved_to_disk_keeps_its_splits(tmp_path):
    out = tmp_path / "ds"
    assert _import("hf", F.write_hf_saved(tmp_path / "src"), out) == 0
    ds = Dataset.load(out)
    assert {r["text"]: r["split"] for r in ds.samples.to_dict("records")} == {
        "dog": "train", "cat": "train", "water": "test", "tree": "test"}
    assert _import("hf", tmp_path / "src", tmp_path / "one", "--split", "ood") == 0
    assert Dataset.load(tmp_path / "one").splits == ["ood"]


def test_hf_datasets_library_folders_and_the_hub(tmp_path, monkeypatch):
    """A real save_to_disk folder (ClassLabel text, ``img`` column) and --allow-download through the
    datasets library (its load_dataset stubbed: no network in tests)."""
    datasets = pytest.importorskip("datasets")
    feats = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=["dog", "cat"]),
                               "writer": datasets.Value("string")})
    ds = datasets.Dataset.from_dict({"img": [{"bytes": F.image_bytes(w, "JPEG"), "path": None} for w in ("cat", "dog")],
                                     "label": [1, 0], "writer": ["x", "y"]}, features=feats)
    dd = datasets.DatasetDict({"validation": ds})
    dd.save_to_disk(str(tmp_path / "saved"))
    assert _import("hf", tmp_path / "saved", tmp_path / "a") == 0
    rows = _rows(tmp_path / "a")
    assert {w: (r["split"], r["style"]) for w, r in rows.items()} == {"cat": ("validation", "hf-saved-x"),
                                                                      "dog": ("validation", "hf-saved-y")}
    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda name, revision=None: calls.append((name, revision)) or dd)
    assert _import("hf", "someone/words", tmp_path / "b", "--allow-download", "--revision", "abc123") == 0
    assert calls == [("someone/words", "abc123")] and sorted(_rows(tmp_path / "b")) == ["cat", "dog"]
    meta = json.loads((tmp_path / "b" / "dataset.json").read_text())
    assert meta["name"] == "hf-someone_words" and meta["sources"][0]["revision"] == "abc123"


def test_hf_unmappable_input_is_one_line(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = F.write_hf_parquet(tmp_path / "src")
    assert _import("hf", root, tmp_path / "ds", "--text-column", "caption") == 2
    _one_line_error(capsys, "--text-column 'caption' is not a column", "transcription")
    pq.write_table(pa.table({"image": [b"x"], "notes": ["a"]}), tmp_path / "odd.parquet")
    assert _import("hf", tmp_path / "odd.parquet", tmp_path / "ds") == 2
    _one_line_error(capsys, "no transcription column among image, notes", "--text-column")
    pq.write_table(pa.table({"img": [1], "text": ["a"]}), tmp_path / "int.parquet")
    assert _import("hf", tmp_path / "int.parquet", tmp_path / "ds") == 2
    _one_line_error(capsys, "image column 'img' holds int64")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    assert _import("hf", tmp_path / "junk.parquet", tmp_path / "ds") == 2
    _one_line_error(capsys, "junk.parquet: not a Parquet file")
    assert _import("hf", "someone/some-dataset", tmp_path / "ds") == 2
    _one_line_error(capsys, "--allow-download")
    _nothing_left(tmp_path / "ds")


def test_a_manifest_parquet_with_image_bytes_is_a_dataset(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    words = ["dog", "cat", "tree"]
    table = pa.table({"text": words, "semantic_id": [-1] * 3, "lang": ["en"] * 3, "style": ["s"] * 3,
                      "split": ["ood"] * 3, "image": [{"bytes": F.image_bytes(w, "PNG"), "path": None} for w in words]})
    (tmp_path / "ds").mkdir()
    pq.write_table(table, tmp_path / "ds" / "manifest.parquet", row_group_size=1)
    ds = Dataset.load(tmp_path / "ds")
    assert list(ds.samples["path"]) == ["embedded/0000000", "embedded/0000001", "embedded/0000002"]
    for i, w in enumerate(words):  # one row group per row: each read from its own group
        ref = Image.open(io.BytesIO(F.image_bytes(w, "PNG"))).convert("RGB")
        assert np.array_equal(np.asarray(ds.load_image(f"embedded/{i:07d}")), np.asarray(ref))
    from bench.run.runner import _subsample

    sub = _subsample(ds, 2, 0)  # bench run --limit keeps the images reachable
    assert len(sub.samples) == 2 and sub.load_image(sub.samples["path"].iloc[1]).mode == "RGB"
    assert main(["data", "show", "--dataset", str(tmp_path / "ds"), "--out", str(tmp_path / "sheets")]) == 0
    assert Image.open(tmp_path / "sheets" / "ood-en.png").width > 0


# --- end to end -----------------------------------------------------------------------------------
def _end_to_end(ds: Path, tmp: Path, n: int, adapters: str = "plugin-const,plugin-pixels") -> dict:
    """bench run, bench table, bench report on an imported dataset; the within-en metrics by adapter."""
    results = tmp / "results"
    assert main(["run", "--adapters", adapters, "--dataset", str(ds), "--results-dir", str(results),
                 "--no-progress", "--quiet", "--latency-samples", "1"]) == 0
    (run_dir,) = list((results / "runs").iterdir())
    metrics = {}
    for name in adapters.split(","):
        job = json.loads((run_dir / "jobs" / name / "ood" / "within-en.json").read_text())
        assert job["status"] == "done" and job["metrics"]["n"] == n
        metrics[name] = job["metrics"]
    assert main(["table", "--results-dir", str(results), "--out", str(tmp / "tables")]) == 0
    assert "Constant (plug-in)" in (tmp / "tables" / "table2_within.md").read_text()
    assert main(["report", run_dir.name, "--results-dir", str(results)]) == 0
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64" in html and "image not shown" not in html
    return metrics


@needs_lxml
def test_layout_and_ink_imports_run_end_to_end(tmp_path, lex, with_plugin):
    """PAGE, ALTO, InkML and UNIPEN imported into one folder (--append), then run, tabled, reported."""
    out = tmp_path / "ds"
    sources = [("page-xml", F.write_page_set(tmp_path / "page")[0]), ("alto", F.write_alto(tmp_path / "alto")[0]),
               ("inkml", F.write_inkml(tmp_path / "ink")), ("unipen", F.write_unipen(tmp_path / "unipen"))]
    for i, (fmt, src) in enumerate(sources):
        assert _import(fmt, src, out, *(["--append"] if i else []), lex=lex) == 0
    samples = Dataset.load(out).samples
    assert sorted(samples["id"].str.split("/").str[0].unique()) == ["alto", "inkml", "page", "unipen"]
    metrics = _end_to_end(out, tmp_path, len(samples))
    n_dog = int((samples["text"].str.lower() == "dog").sum())  # the constant engine answers "dog" (Dog as written)
    assert metrics["plugin-const"]["acc@1"] == pytest.approx(n_dog / len(samples))


def test_hf_import_runs_end_to_end_through_a_real_engine(tmp_path, lex, with_plugin):
    """Embedded PNG and JPEG bytes decoded for a real OCR engine (tesseract, when installed)."""
    from bench import registry

    assert _import("hf", F.write_hf_parquet(tmp_path / "src"), tmp_path / "ds", "--split", "ood", lex=lex) == 0
    real = registry.get("tesseract").availability().ok
    metrics = _end_to_end(tmp_path / "ds", tmp_path, 4, "plugin-const," + ("tesseract" if real else "plugin-pixels"))
    assert metrics["plugin-const"]["acc@1"] == pytest.approx(0.25)
    if real:
        assert metrics["tesseract"]["acc@1"] >= 0.75  # clean printed words, decoded right: read right
