"""Distillation from a frozen teacher (ours/distill.py): zero against itself, only on synthetic rows,
and it holds a fine-tuned student near the teacher's answers."""
import copy
from pathlib import Path

import pytest
import torch

from bench.errors import BenchError
from ours.config import load_config, read_config, run_identity
from ours.distill import DistillConfig, Teacher
from ours.losses import LossConfig
from ours.model import load_checkpoint
from ours.train import step_loss, train
from tests.test_ours_train import CFG, _render, _source, _tiny_tower

torch.set_num_threads(1)

FROZEN = {**CFG, "text": {"trainable_layers": 0}, "loss": {"ctc": True, "lexicon": 0.5}}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A tiny trained checkpoint with its CTC head: the teacher of every test here."""
    run = train(load_config(FROZEN), tmp_path_factory.mktemp("teacher") / "run", sources={1: _source()},
                text_tower=_tiny_tower(0), progress=False)
    return run / "stage1"


def _batch():
    from ours.preprocess import to_array

    src = _source()
    x = torch.stack([torch.from_numpy(to_array(src.load(i, 500 + i)))[None] for i in range(len(src.items))])
    gindex = {g: i for i, g in enumerate(dict.fromkeys(it.group for it in src.items))}
    return src, x, gindex


def _student(folder):
    m = load_checkpoint(folder)
    m.text = _tiny_tower(0)
    m.text.load_trainable_state(m._pending_text_state)
    return m


def _lex(model, src, gindex):
    texts = list(dict.fromkeys(it.text for it in src.items))
    model.text.fill_cache(texts)
    pooled = model.text.pooled_matrix(texts)
    labels = torch.tensor([gindex[next(it.group for it in src.items if it.text == t)] for t in texts])
    return (texts, labels, None, pooled)


def test_a_teacher_judging_itself_adds_nothing_and_a_changed_student_is_penalized(published):
    src, x, gindex = _batch()
    student = _student(published).eval()
    teacher = Teacher(DistillConfig(str(published)), student.charset, torch.device("cpu"))
    lex = _lex(student, src, gindex)
    with torch.no_grad():
        zv, mid = student.image.forward_train(x)
        terms = teacher.loss(x, zv, student.text.project(lex[3]), teacher.bank(lex[3]), student.ctc(mid))
    assert set(terms) == {"kd", "kd_ctc"}
    assert float(terms["kd"]) < 1e-5 and float(terms["kd_ctc"]) < 1e-5
    with torch.no_grad():
        for p in student.image.parameters():
            p.add_(0.05 * torch.randn_like(p))
        zv, mid = student.image.forward_train(x)
        moved = teacher.loss(x, zv, student.text.project(lex[3]), teacher.bank(lex[3]), student.ctc(mid))
    assert float(moved["kd"]) > 1e-3 and float(moved["kd_ctc"]) > 1e-3


def test_only_the_rows_the_mask_names_are_distilled(published):
    src, x, gindex = _batch()
    student = _student(published)
    with torch.no_grad():
        for p in student.image.parameters():  # a student that differs, so every term is non-zero
            p.add_(0.05 * torch.randn_like(p))
    teacher = Teacher(DistillConfig(str(published)), student.charset, torch.device("cpu"))
    lex = _lex(student, src, gindex)
    tb = teacher.bank(lex[3])
    cfg = LossConfig(ctc=True, lexicon=0.5)
    none = torch.zeros(len(src.items), dtype=torch.bool)
    _, logs = step_loss(student, x, src.items, gindex, cfg, torch.device("cpu"), lexicon=lex,
                        distill=(teacher, tb, none))
    assert "kd" not in logs and "kd_ctc" not in logs  # real rows only: nothing to keep
    some = none.clone()
    some[:3] = True
    loss, logs = step_loss(student, x, src.items, gindex, cfg, torch.device("cpu"), lexicon=lex,
                           distill=(teacher, tb, some))
    plain, _ = step_loss(student, x, src.items, gindex, cfg, torch.device("cpu"), lexicon=lex)
    with torch.no_grad():
        zv, mid = student.image.forward_train(x[:3])
        want = teacher.loss(x[:3], zv, student.text.project(lex[3]), tb, student.ctc(mid))
    assert logs["kd"] > 1e-3 and logs["kd_ctc"] > 1e-3
    assert logs["kd"] == pytest.approx(float(want["kd"]), rel=1e-4)
    assert logs["kd_ctc"] == pytest.approx(float(want["kd_ctc"]), rel=1e-4)
    assert float(loss.detach()) == pytest.approx(float(plain.detach()) + logs["kd"] + 0.5 * logs["kd_ctc"], rel=1e-4)


def test_a_mixed_run_distills_records_its_teacher_and_refuses_a_changed_one(published, tmp_path):
    import shutil

    import pandas as pd

    import ours.train_data as td
    from ours.config import SourceConfig
    from ours.real_data import RealSource
    from tests.test_real_data import _real_folder

    folder = _real_folder(tmp_path / "real", [("dog", "en", 0, "train"), ("snout", "en", -1, "train"),
                                              ("sol", "es", 2, "train"), ("gato", "es", 1, "train")])
    teacher_dir = tmp_path / "teacher"
    shutil.copytree(published, teacher_dir)
    cfg = copy.deepcopy(FROZEN)
    cfg.update(init=str(published), distill={"teacher": str(teacher_dir)})
    mix = td.with_real(_source(), SourceConfig(kind="synth", real=str(folder), real_slots={"en": 2, "es": 2}),
                       cfg["words"])
    run = train(load_config(cfg), tmp_path / "run", sources={1: mix}, text_tower=_tiny_tower(0), progress=False,
                stop_after_steps=2)
    log = pd.read_csv(run / "log.csv")
    assert len(log) == 2 and (log["kd"] > 0).all() and (log["kd_ctc"] > 0).all()
    rec = __import__("json").loads((run / "teacher.json").read_text())
    assert rec["from"] == str(teacher_dir.resolve()) and len(rec["sha256"]) == 64
    with torch.no_grad():  # the teacher's weights change on disk: the run must not resume on them
        other = _student(teacher_dir)
        for p in other.image.parameters():
            p.add_(0.01)
        from ours.model import save_checkpoint
        save_checkpoint(other, teacher_dir, include_ctc=True)
    with pytest.raises(BenchError, match="teacher .* changed"):
        train(load_config(cfg), run, sources={1: mix}, text_tower=_tiny_tower(0), progress=False)
    # a stage of real rows only: nothing is distilled
    real_only = RealSource(folder, "train", ["en", "es"], charset=None)
    cfg2 = {**cfg, "distill": {"teacher": str(published)}}
    run2 = train(load_config(cfg2), tmp_path / "run2", sources={1: real_only}, text_tower=_tiny_tower(0),
                 progress=False)
    log2 = pd.read_csv(run2 / "log.csv")
    assert len(log2) and log2["kd"].isna().all()
    card = (run2 / "stage1" / "MODEL_CARD.md").read_text()
    assert f"teacher (distilled on the synthetic rows): `{Path(published).resolve()}`" in card
    assert f"warm start: `{published}`" in card


def test_distillation_holds_a_fine_tuned_student_near_its_teacher(published, tmp_path):
    """The same warm start at a high rate drifts from the teacher; with the teacher on, it drifts less.
    Measured as training sees it (batch statistics): with batches of 8, BatchNorm's running statistics
    are too noisy to compare the two students at inference."""
    src, x, gindex = _batch()

    def drift(distill):
        cfg = copy.deepcopy(FROZEN)
        cfg.update(init=str(published), stage1={**CFG["stage1"], "images": 64, "lr": 2e-2})
        if distill:
            cfg["distill"] = {"teacher": str(published), "weight": 5.0, "ctc_weight": 2.0}
        run = train(load_config(cfg), tmp_path / f"d{int(distill)}", sources={1: _source()},
                    text_tower=_tiny_tower(0), progress=False)
        student = _student(run / "stage1").train()
        teacher = Teacher(DistillConfig(str(published)), student.charset, torch.device("cpu"))
        lex = _lex(student, src, gindex)
        with torch.no_grad():
            zv, mid = student.image.forward_train(x)
            t = teacher.loss(x, zv, student.text.project(lex[3]), teacher.bank(lex[3]), student.ctc(mid))
        return float(t["kd"]), float(t["kd_ctc"])

    free, held = drift(False), drift(True)
    assert held[0] < free[0] and held[1] < free[1]


def test_the_config_keeps_old_identities_and_checks_the_teacher(published):
    plain = read_config(CFG)
    assert "distill" not in plain.to_dict()  # every config written before distillation keeps its identity
    cfg = read_config({**CFG, "distill": {"teacher": "t", "weight": 0.5}})
    assert cfg.distill.teacher == "t" and cfg.distill.ctc_weight == 0.5
    assert run_identity(cfg) != run_identity(plain)
    with pytest.raises(BenchError, match="tempo"):
        read_config({**CFG, "distill": {"teacher": "t", "tempo": 2}})
    with pytest.raises(BenchError, match="text encoder differs"):
        Teacher(DistillConfig(str(published)), load_checkpoint(published).charset, torch.device("cpu"),
                __import__("dataclasses").replace(load_checkpoint(published).text_cfg, prefix="query: "))
    with pytest.raises(BenchError, match="charset"):
        Teacher(DistillConfig(str(published)), "xyz", torch.device("cpu"))
    assert Teacher(DistillConfig(str(published), ctc_weight=0.0), "xyz", torch.device("cpu")).scale > 0


def test_the_real_distill_config_distills_from_the_shipped_checkpoint():
    cfg = read_config("real-distill")
    assert cfg.distill is not None and cfg.distill.teacher == "ours/checkpoints/ours"
    assert cfg.init == "ours/checkpoints/ours-real" and cfg.stage1.source.real == "$XSB_REAL"


def test_a_log_begun_before_the_new_columns_stays_aligned_and_trims(tmp_path):
    import csv

    from ours.train_log import append_log, trim_log

    old = ["stage", "step", "images", "lr", "loss", "i2t", "t2i", "sca", "ctc", "lex", "tau", "img_per_s", "elapsed_s"]
    log = tmp_path / "log.csv"
    log.write_text(",".join(old) + "\n1,10,100,0.1,5.0,1,1,0.1,1,2,0.01,70.0,10.0\n")
    append_log(log, {"stage": 1, "step": 20, "images": 200, "lr": 0.1, "loss": 4.0, "kd": 1.5, "tau": 0.01,
                     "img_per_s": 71.0, "elapsed_s": 20.0})
    rows = list(csv.DictReader(log.open()))
    assert list(rows[1]) == old and rows[1]["elapsed_s"] == "20.0" and rows[1]["img_per_s"] == "71.0"
    trim_log(log, 1, 10)
    assert [r["step"] for r in csv.DictReader(log.open())] == ["10"]
