"""The HTML of ``bench report``: one page, inline CSS, images as data URIs, no network access.

Kept apart from ``bench.report.gather`` (which gathers the content) so that layout changes never touch
how numbers are read. Text is escaped by jinja2's autoescape; only data URIs built here are
trusted as attribute values.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from . import tables
from .content import WORST_N, ReportContent, Table
from .figures.cards import featured_groups

SPLIT_NAMES = {"id": "In-domain", "ood": "OOD"}
METRIC_NAMES = {"acc@1": "Acc@1", "acc@3": "Acc@3", "acc@5": "Acc@5", "mrr": "MRR", "nes": "NES", "n": "n"}
PLAIN_NAMES = {"params_m": "Params (M)", "latency_ms": "Latency (ms)", "R/D": "R/D", "n_points": "points",
               "n_classes": "concepts", "random": "random", "mean": "mean"}
HIDDEN = ("group", "source")
HIGHER_IS_BETTER = ("acc@", "mrr", "nes", "->", "mean")


def header(col: str) -> tuple[str, str]:
    """(upper line, lower line) of a column header: split or language above, metric below."""
    if col.startswith("centre:"):
        return "centre dist.", col.split(":", 1)[1]
    if ":" in col:
        a, b = col.split(":", 1)
        return SPLIT_NAMES.get(a, a), METRIC_NAMES.get(b, b)
    return "", PLAIN_NAMES.get(col, col)


def cell(value: Any, floatfmt: str, integer: bool = False) -> str:
    """Display text of one value: '–' when missing, integers as such, floats with ``floatfmt``."""
    if value is None or value is pd.NA:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        return str(int(value)) if integer else format(float(value), floatfmt)
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def table_view(t: Table) -> dict:
    """Rows of one table for the template: group separator rows, cell text, best values marked."""
    df = t.df
    if df.empty:
        return {"title": t.title, "note": t.note, "empty": True}
    cols = [c for c in (t.columns or tables._column_order(list(df.columns))) if c in df.columns and c not in HIDDEN]
    measured = df[df["source"] != "reported"] if "source" in df.columns else df
    best: dict[str, float] = {}
    for c in cols:
        if any(k in c for k in HIGHER_IS_BETTER) and not c.endswith(":n"):
            vals = pd.to_numeric(measured[c], errors="coerce").dropna()
            if len(vals) > 1:
                best[c] = float(vals.max())
    featured = set(featured_groups())  # the card says which models a reader looks for first
    rows, group = [], None
    for _, r in df.iterrows():
        g = r.get("group") if "group" in df.columns else None
        if g is not None and not pd.isna(g) and g != group:
            rows.append({"group": g or "Other"})
            group = g
        cells = []
        for c in cols:
            v = r[c]
            is_best = c in best and v is not None and not pd.isna(v) and r.get("source") != "reported" \
                and abs(float(v) - best[c]) < 1e-12
            integer = c.endswith(":n") or c in tables.INT_COLS
            cls = " ".join(k for k, on in (("num", _is_number(v)), ("best", is_best)) if on)
            cells.append({"text": cell(v, t.floatfmt, integer), "cls": cls})
        classes = []
        if r.get("source") == "reported":
            classes.append("reported")
        if g in featured:
            classes.append("featured")
        rows.append({"cells": cells, "cls": " ".join(classes)})
    heads = [header(c) for c in cols]
    return {"title": t.title, "note": t.note, "empty": False, "heads": heads, "rows": rows, "ncols": len(cols)}


TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>xscript-bench run {{ c.run_id }}</title>
<style>
:root { --ink:#1d232b; --muted:#5b6672; --line:#d9dee4; --band:#f3f5f8; --accent:#b3261e; --blue:#1f5fa8; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans","Noto Sans CJK SC","LXGW WenKai","AR PL UKai CN",sans-serif; color:var(--ink); background:#fff; }
header.top { background:#1d232b; color:#fff; padding:18px 28px 14px; }
header.top h1 { margin:0 0 4px; font-size:22px; font-weight:600; }
header.top .sub { color:#c8d0d9; font-size:13px; }
nav { position:sticky; top:0; z-index:2; background:#fff; border-bottom:1px solid var(--line); padding:8px 28px; font-size:13px; }
nav a { color:var(--blue); text-decoration:none; margin-right:16px; }
main { padding:8px 28px 60px; max-width:1500px; }
h2 { font-size:19px; margin:30px 0 8px; padding-bottom:4px; border-bottom:2px solid var(--ink); }
h3 { font-size:15px; margin:22px 0 6px; }
p.note, .note { color:var(--muted); font-size:12.5px; margin:4px 0 8px; }
dl.summary { display:grid; grid-template-columns:max-content 1fr; gap:4px 18px; margin:10px 0; }
dl.summary dt { color:var(--muted); } dl.summary dd { margin:0; font-weight:500; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; font-size:12.5px; margin:6px 0 4px; }
th, td { padding:3px 8px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; }
th { background:var(--band); font-weight:600; white-space:nowrap; }
th .up { display:block; color:var(--muted); font-weight:500; font-size:11px; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.best { font-weight:700; }
tr.group td { background:#e8ecf1; font-weight:600; font-size:12px; color:#39424c; }
tr.reported td { color:#6b7580; font-style:italic; }
tr.featured td { background:#fdf0ef; }
tr.featured.reported td { background:#fbf6f5; }
figure { margin:14px 0 26px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); }
figcaption { color:var(--muted); font-size:12.5px; max-width:1100px; }
.skipped { border-left:4px solid #e0a800; background:#fff8e1; padding:6px 10px; font-size:13px; margin:8px 0; }
details { margin:6px 0; } summary { cursor:pointer; font-weight:600; }
details.adapter > summary { font-size:14px; padding:4px 0; }
table.worst td.img { width:270px; }
table.worst img { display:block; max-width:260px; max-height:60px; background:#fff; }
.miss { color:var(--accent); font-size:12px; }
.hit { font-weight:700; color:#0b6b2b; }
.topk span { display:inline-block; margin:0 8px 2px 0; white-space:nowrap; }
.topk small { color:var(--muted); }
table.prov td:first-child { color:var(--muted); white-space:nowrap; }
table.prov code { font-size:12px; word-break:break-all; }
.reason { max-width:900px; white-space:pre-wrap; word-break:break-word; }
</style>
</head>
<body>
<header class="top">
  <h1>xscript-bench · run {{ c.run_id }}</h1>
  <div class="sub">Handwritten-word retrieval across English, Chinese and Spanish. Everything on this page is read from the stored run; nothing was recomputed by a model.</div>
</header>
<nav>
  <a href="#summary">Summary</a><a href="#figures">Figures</a><a href="#tables">Tables</a><a href="#languages">Per language</a><a href="#adapters">Adapters</a><a href="#notrun">Not run</a><a href="#worst">Worst queries</a><a href="#provenance">Provenance</a>
</nav>
<main>
<section id="summary">
<h2>Summary</h2>
<dl class="summary">
{% for k, v in c.summary %}<dt>{{ k }}</dt><dd>{{ v }}</dd>
{% endfor %}</dl>
<p class="note">How to read: within-language retrieval ranks every gallery word of the query's language for each word image; Acc@K is the share of queries whose correct word is in the first K, MRR the mean of 1/rank, NES the mean normalized edit similarity of the prediction. Bold marks the best measured value of a column; rows in italics are the paper's reported numbers, never mixed with measured ones; our model's rows are shaded.</p>
</section>

<section id="figures">
<h2>Figures</h2>
{% for f in c.figures %}
<h3>{{ f.title }}</h3>
{% if f.name in c.figure_uris %}
<figure><img src="{{ c.figure_uris[f.name] }}" alt="{{ f.title }}">
<figcaption>{{ f.caption }}{% if f.note %} Note: {{ f.note }}.{% endif %} Files: {{ f.paths|map(attribute='name')|join(', ') }} in the run's figures/ folder.</figcaption></figure>
{% else %}
<div class="skipped">Not drawn: {{ f.note }}.</div>
{% endif %}
{% endfor %}
</section>

<section id="tables">
<h2>Tables</h2>
{% for t in main_tables %}{{ render_table(t) }}{% endfor %}
{% if reported_tables %}
<details><summary>Show the tables with the paper's reported rows (labelled, in italics)</summary>
{% for t in reported_tables %}{{ render_table(t) }}{% endfor %}
</details>
{% endif %}
</section>

<section id="languages">
<h2>Per-language breakdown (within-language retrieval)</h2>
{% for t in per_language %}{{ render_table(t) }}{% else %}<p class="note">No within-language results.</p>{% endfor %}
</section>

<section id="adapters">
<h2>Adapters</h2>
{{ render_table(adapters) }}
</section>

<section id="notrun">
<h2>Unavailable, failed or skipped</h2>
{% if c.not_run.df.empty %}<p class="note">Every adapter in the run loaded and finished all its jobs.</p>{% else %}
<div class="scroll"><table id="table-not-run"><thead><tr><th>adapter</th><th>what</th><th>status</th><th>reason</th></tr></thead><tbody>
{% for r in c.not_run.df.to_dict('records') %}<tr><td>{{ r.adapter }}</td><td>{{ r.what }}</td><td>{{ r.status }}</td><td class="reason">{{ r.reason }}</td></tr>
{% endfor %}</tbody></table></div>{% endif %}
</section>

<section id="worst">
<h2>Worst queries</h2>
<p class="note">For each adapter, up to {{ worst_n }} within-language queries whose correct word was not ranked first, lowest first (largest rank; ties by split, language, id), with the word image, the target, the transcription (OCR and VLLM adapters) and the top-5 retrieved words with their scores (cosine for embeddings, NES for transcribers). A green top-5 entry is the target.</p>
{% for a in c.worst %}
<details class="adapter"{% if loop.first %} open{% endif %} id="worst-{{ a.adapter }}"><summary>{{ a.method }} <span class="note">({{ a.adapter }}; pooled Acc@1 {{ '%.4f'|format(a.acc1) if a.acc1 is not none else '–' }} over {{ a.n }} queries; {{ a.misses }} missed{% if a.misses > a.queries|length %}, the {{ a.queries|length }} worst shown{% endif %})</span></summary>
{% if not a.queries %}<p class="note">Every query ranked its target first.</p>{% else %}<div class="scroll"><table class="worst"><thead><tr><th>image</th><th>split / lang</th><th>target</th><th>transcription</th><th>rank</th><th>top-5 (score)</th></tr></thead><tbody>
{% for q in a.queries %}<tr>
<td class="img">{% if q.thumb %}<img src="{{ q.thumb }}" alt="{{ q.target }}" title="{{ q.path }}">{% else %}<span class="miss">image not shown: {{ q.thumb_error }}</span>{% endif %}</td>
<td>{{ q.split }} / {{ q.lang }}</td><td><b>{{ q.target }}</b></td><td>{{ q.transcription if q.transcription is not none else '–' }}</td>
<td class="num">{{ q.rank }}{% if q.gallery_size %} / {{ q.gallery_size }}{% endif %}</td>
<td class="topk">{% for w, s in q.topk %}<span{% if w == q.target %} class="hit"{% endif %}>{{ w }} <small>{{ '%.3f'|format(s) if s is not none else '' }}</small></span>{% endfor %}</td>
</tr>{% endfor %}
</tbody></table></div>{% endif %}</details>
{% else %}<p class="note">No within-language predictions stored.</p>{% endfor %}
</section>

<section id="provenance">
<h2>Provenance</h2>
<p class="note">Run folder created {{ c.manifest.get('created', '?') }}; dataset folder {{ c.manifest.get('dataset_path', '?') }}. One block per invocation of <code>bench run</code> on this run (a run resumes across invocations).</p>
{% for p in c.provenance %}
<h3>Invocation {{ loop.index }}</h3>
<div class="scroll"><table class="prov">
<tr><td>command</td><td><code>{{ p.command }}</code></td></tr>
<tr><td>time</td><td>{{ p.start }} → {{ p.end }}</td></tr>
<tr><td>adapters</td><td>{{ p.adapters }}</td></tr>
<tr><td>splits</td><td>{{ p.splits }}</td></tr>
<tr><td>device, threads, seed</td><td>{{ p.device }}, {{ p.threads }} thread(s), seed {{ p.seed }} ({{ p.executor }} executor)</td></tr>
<tr><td>git</td><td><code>{{ p.git }}</code></td></tr>
<tr><td>hardware</td><td>{{ p.hardware }}</td></tr>
<tr><td>versions</td><td>{{ p.versions }}</td></tr>
</table></div>
{% endfor %}
</section>
</main>
<script>
// Lets a headless browser (and the test) confirm that every embedded image decoded.
window.addEventListener("load", function () {
  var ims = Array.prototype.slice.call(document.images);
  document.body.setAttribute("data-images-total", ims.length);
  document.body.setAttribute("data-images-decoded", ims.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length);
});
</script>
</body>
</html>
"""

TABLE_MACRO = r"""{% macro render_table(t) %}
<h3>{{ t.title }}</h3>
{% if t.empty %}<p class="note">No results.</p>{% else %}
{% if t.note %}<p class="note">{{ t.note }}</p>{% endif %}
<div class="scroll"><table class="results"><thead><tr>{% for up, low in t.heads %}<th>{% if up %}<span class="up">{{ up }}</span>{% endif %}{{ low }}</th>{% endfor %}</tr></thead><tbody>
{% for r in t.rows %}{% if r.group is defined %}<tr class="group"><td colspan="{{ t.ncols }}">{{ r.group }}</td></tr>
{% else %}<tr{% if r.cls %} class="{{ r.cls }}"{% endif %}>{% for x in r.cells %}<td{% if x.cls %} class="{{ x.cls }}"{% endif %}>{{ x.text }}</td>{% endfor %}</tr>
{% endif %}{% endfor %}</tbody></table></div>{% endif %}
{% endmacro %}"""


def render(c: ReportContent, worst_n: int = WORST_N) -> str:
    """The whole page as one string."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)
    macro = env.from_string(TABLE_MACRO).module.render_table
    tpl = env.from_string(TEMPLATE)
    return tpl.render(c=c, render_table=macro, worst_n=worst_n,
                      main_tables=[table_view(t) for t in c.tables],
                      reported_tables=[table_view(t) for t in c.reported_tables],
                      per_language=[table_view(t) for t in c.per_language], adapters=table_view(c.adapters))
