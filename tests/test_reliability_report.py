"""`psyscore reliability --html`: a standalone report whose numbers are the --json numbers."""

from __future__ import annotations

import base64
import json
import re
import struct
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.cli.reliability import _apa

from .conftest import DATA, ROOT

SAMPLE = ROOT / "sample_data" / "intake_batch.csv"
MISKEYED = "may be mis-keyed: is it reverse-scored?"
PNG_PREFIX = "data:image/png;base64,"


class Report(HTMLParser):
    """The parts of the report the tests look at, from the stdlib parser."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.summary: dict[str, dict[str, tuple[str, str | None]]] = {}
        self.summary_warnings: dict[str, str] = {}
        self.apa: dict[str, str] = {}
        self.item_rows: dict[str, dict[str, dict]] = {}  # score -> item -> row
        self.images: list[dict] = []
        self.urls: list[str] = []  # every src= and href=
        self.tags: set[str] = set()
        self.text_parts: list[str] = []
        self._score: str | None = None  # inside <tr data-score> (summary) or <table data-score>
        self._row: dict | None = None
        self._cell: dict | None = None
        self._apa: str | None = None
        self.feed(text)
        self.text = " ".join(" ".join(self.text_parts).split())

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v is not None]
        if tag == "table" and "data-score" in a:
            self._score = a["data-score"]
            self.item_rows[self._score] = {}
        elif tag == "tr" and "data-score" in a:
            self._row = {"kind": "summary", "score": a["data-score"], "cells": []}
        elif tag == "tr" and "data-item" in a:
            self._row = {
                "kind": "item",
                "item": a["data-item"],
                "class": a.get("class") or "",
                "cells": [],
            }
        elif tag == "td" and self._row is not None:
            self._cell = {"text": "", "stat": a.get("data-stat"), "value": a.get("data-value")}
        elif tag == "p" and "apa" in (a.get("class") or "").split():
            self._apa = a["data-score"]
            self.apa[self._apa] = ""
        elif tag == "img":
            self.images.append(a)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row["cells"].append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            row, self._row = self._row, None
            if row["kind"] == "summary":
                stats = {
                    c["stat"]: (c["text"].strip(), c["value"]) for c in row["cells"] if c["stat"]
                }
                self.summary[row["score"]] = stats
                self.summary_warnings[row["score"]] = row["cells"][-1]["text"].strip()
            else:
                self.item_rows[self._score][row["item"]] = row
        elif tag == "table":
            self._score = None
        elif tag == "p":
            self._apa = None

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._cell is not None:
            self._cell["text"] += data
        if self._apa is not None:
            self.apa[self._apa] += data


def png_size(uri: str) -> tuple[int, int]:
    data = base64.b64decode(uri.removeprefix(PNG_PREFIX), validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def run(*args: str):
    return CliRunner().invoke(app, ["reliability", *map(str, args)])


# ---- the sample batch: numbers in the report are the --json numbers ---------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "reliability.html"
    args = [SAMPLE, "-i", "phq-9", "-i", "mrni-sf", "--json"]
    plain = run(*args)
    with_html = run(*args, "--html", out)
    assert plain.exit_code == with_html.exit_code == 1  # the two typos in the sample
    text = out.read_text(encoding="utf-8")
    return {
        "payload": json.loads(plain.stdout),
        "stdout_plain": plain.stdout,
        "result": with_html,
        "html": text,
        "report": Report(text),
        "path": out,
    }


def test_json_output_is_unchanged_by_html(sample):
    assert sample["result"].stdout == sample["stdout_plain"]
    assert f"wrote {sample['path']}" in sample["result"].stderr


def test_summary_and_apa_sentences_equal_the_json(sample):
    report = sample["report"]
    scores = [s for inst in sample["payload"]["instruments"] for s in inst["scores"]]
    assert [s["score"] for s in scores][:2] == ["phq9_total", "mrnisf_total"]
    assert set(report.summary) == {s["score"] for s in scores}
    for s in scores:
        row = report.summary[s["score"]]
        text, value = row["alpha"]
        assert text == _apa(s["alpha"])
        assert float(value) == s["alpha"]  # full precision, not re-computed
        assert row["alpha_ci"][0] == f"[{_apa(s['alpha_ci'][0])}, {_apa(s['alpha_ci'][1])}]"
        assert float(row["lambda6"][1]) == s["lambda6"]
        assert float(row["average_r"][1]) == s["average_r"]
        assert report.apa[s["score"]] == s["apa"]
    # PHQ-9 in the sample: the values test_reliability_cli checks against pingouin
    assert report.apa["phq9_total"] == (
        "Cronbach's alpha = .91, 95% CI [.89, .92]; McDonald's omega total "
        "(bifactor model, 3 group factors) = .92 (n = 400, 9 items)"
    )
    assert report.summary["phq9_total"]["omega_total"][0] == ".92"
    # MRNI-SF subscales have 3 items: no Schmid-Leiman omega, shown as a dash
    assert report.summary["mrnisf_toughness"]["omega_total"] == ("\u2013", None)


def test_item_tables_take_labels_and_numbers_from_definition_and_json(sample):
    report = sample["report"]
    phq = sample["payload"]["instruments"][0]["scores"][0]
    rows = report.item_rows["phq9_total"]
    assert list(rows) == [f"phq9_{i}" for i in range(1, 10)]
    item9 = next(it for it in phq["items"] if it["item"] == "phq9_9")
    cells = [c["text"].strip() for c in rows["phq9_9"]["cells"]]
    # item, label, n, mean, sd, % missing, floor, ceiling, r.drop, r.cor, alpha if deleted, flag
    assert cells[1] == "thoughts of death or self-harm"
    assert cells[2] == str(item9["n"]) == "386"
    assert cells[5] == f"{item9['pct_missing']:.1f}" == "3.5"
    assert cells[6] == f"{item9['floor_pct']:.1f}"
    assert cells[8] == _apa(item9["r_drop"])
    assert float(rows["phq9_9"]["cells"][8]["value"]) == item9["r_drop"]
    assert cells[10] == _apa(item9["alpha_if_deleted"])
    assert not any("flagged" in r["class"] for r in rows.values())  # a clean scale


def test_report_is_standalone_with_one_embedded_plot_per_score(sample):
    report, html = sample["report"], sample["html"]
    assert not [u for u in report.urls if re.match(r"\s*(https?:)?//", u, re.I)]
    assert all(u.startswith(("#", PNG_PREFIX)) for u in report.urls)
    assert not {"script", "link", "iframe", "object"} & report.tags
    assert "url(" not in html and "@import" not in html
    n_scores = sum(len(i["scores"]) for i in sample["payload"]["instruments"])
    assert n_scores == 9  # PHQ-9 total; MRNI-SF total and 7 subscales
    assert len(report.images) == n_scores
    assert all(img["src"].startswith(PNG_PREFIX) and img["alt"] for img in report.images)
    sizes = [png_size(img["src"]) for img in report.images]
    # figures grow with the number of items: MRNI-SF total (21) > PHQ-9 (9) > a subscale (3)
    assert sizes[1][1] > sizes[0][1] > sizes[2][1]
    assert sizes[2] == sizes[3]


def test_citations_licence_key_status_and_provenance(sample):
    text = sample["report"].text
    for ref in ("phq-9", "mrni-sf"):
        inst = psyscore.load(ref)
        assert " ".join(inst.citation.split()) in text
        assert f"doi:{inst.doi}" in text
        assert f"Licence: {inst.licence.status}" in text
    mrni = psyscore.load("mrni-sf")
    assert "Scoring key: not verified" in text
    for doubt in mrni.key.uncertain:
        assert " ".join(doubt.split()) in text
    assert "Scoring key: verified (source: Kroenke, Spitzer & Williams (2001)" in text
    assert f"Input: {SAMPLE.name}" in text
    assert f"psyscore {psyscore.__version__}" in text
    assert "Missing data: pairwise deletion" in text
    assert "n = 400 rows, 9 items (320 rows answered every item" in text
    # the typo rows are listed as data problems, with the row number
    assert "'33' is not an answer to phq9_3; treated as missing" in text


# ---- a hand-made scale with a mis-keyed item, and hostile labels ------------------------------


@pytest.fixture(scope="module")
def miskeyed(tmp_path_factory):
    """toy-4 declares toy_2 reversed, but the answers were already keyed: r.drop < 0."""
    folder = tmp_path_factory.mktemp("toy")
    definition = yaml.safe_load((DATA / "toy.yaml").read_text(encoding="utf-8"))
    definition["items"][2]["label"] = '<script>alert("x")</script> & third'
    definition["citation"] = "Doe, J. (2020). <b>Toy</b> scale & friends."
    (folder / "toy.yaml").write_text(yaml.safe_dump(definition, sort_keys=False), encoding="utf-8")
    rng = np.random.default_rng(7)
    latent = rng.normal(size=120)
    answers = {
        f"toy_{i}": np.clip(np.rint(3 + 1.2 * latent + rng.normal(scale=0.7, size=120)), 1, 5)
        for i in range(1, 5)
    }
    frame = pd.DataFrame({k: v.astype(int) for k, v in answers.items()})
    frame.to_csv(folder / "toy.csv", index=False)
    return folder


def test_miskeyed_item_is_highlighted(miskeyed):
    out = miskeyed / "toy.html"
    result = run(miskeyed / "toy.csv", "-i", miskeyed / "toy.yaml", "--json", "--html", out)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    total = next(s for s in payload["instruments"][0]["scores"] if s["score"] == "toy_total")
    warned = [w for w in total["warnings"] if w["code"] == "negative_item_rest"]
    assert [w["item"] for w in warned] == ["toy_2"]
    report = Report(out.read_text(encoding="utf-8"))
    rows = report.item_rows["toy_total"]
    assert rows["toy_2"]["class"] == "flagged"
    assert [r for r in rows if r != "toy_2" and rows[r]["class"]] == []
    cells = rows["toy_2"]["cells"]
    assert MISKEYED in cells[-1]["text"]
    r_drop = next(it["r_drop"] for it in total["items"] if it["item"] == "toy_2")
    assert r_drop < 0 and float(cells[8]["value"]) == r_drop
    assert total["alpha"] < 0.70  # the mis-keyed item drags alpha down
    assert report.summary_warnings["toy_total"] == f"toy_2: {MISKEYED}; alpha below .70"
    assert "flagged: toy_2" in next(i["alt"] for i in report.images if "toy_total" in i["alt"])
    # the composite score `combo` has no items: two plots, for `part` and `total`
    assert len(report.images) == 2


def test_all_text_is_escaped(miskeyed):
    out = miskeyed / "escaped.html"
    result = run(miskeyed / "toy.csv", "-i", miskeyed / "toy.yaml", "--html", out)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "<b>Toy</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; third" in html
    text = Report(html).text
    assert 'alert("x")' in text and "Doe, J. (2020). <b>Toy</b> scale & friends." in text


def test_terminal_output_is_unchanged_by_html(miskeyed):
    plain = run(miskeyed / "toy.csv", "-i", miskeyed / "toy.yaml")
    out = miskeyed / "terminal.html"
    with_html = run(miskeyed / "toy.csv", "-i", miskeyed / "toy.yaml", "--html", out)
    assert with_html.stdout == plain.stdout + f"wrote {out}\n"


def test_existing_output_needs_force_and_the_input_is_never_overwritten(miskeyed):
    data = miskeyed / "toy.csv"
    before = data.read_bytes()
    out = miskeyed / "existing.html"
    out.write_text("keep me", encoding="utf-8")
    refused = run(data, "-i", miskeyed / "toy.yaml", "--html", out)
    assert refused.exit_code == 2
    assert "already exists; use --force to replace it" in refused.stderr
    assert out.read_text(encoding="utf-8") == "keep me"
    forced = run(data, "-i", miskeyed / "toy.yaml", "--html", out, "--force")
    assert forced.exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    # the input itself, with or without --force: refused, byte for byte unchanged
    for extra in ([], ["--force"]):
        result = run(data, "-i", miskeyed / "toy.yaml", "--html", data, *extra)
        assert result.exit_code == 2
        assert data.read_bytes() == before
    assert not list(miskeyed.glob(".*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("report.pdf", "name the report *.html"),
        ("no-such-folder/report.html", "output folder does not exist"),
    ],
)
def test_bad_html_target_is_a_usage_error(miskeyed, target, message):
    result = run(miskeyed / "toy.csv", "-i", miskeyed / "toy.yaml", "--html", miskeyed / target)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (miskeyed / target).exists()


def test_matplotlib_is_not_imported_without_html(miskeyed, monkeypatch):
    """Any `import matplotlib...` fails while the modules are None in sys.modules."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run(miskeyed / "toy.csv", "-i", miskeyed / "toy.yaml", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["instruments"][0]["instrument"] == "toy-4"


def test_report_is_written_atomically_when_rendering_fails(miskeyed, monkeypatch):
    import psyscore.report.reliability_html as rh

    out = miskeyed / "atomic.html"
    out.write_text("previous report", encoding="utf-8")

    def boom(*args, **kwargs):
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(rh, "render_reliability_html", boom)
    result = run(miskeyed / "toy.csv", "-i", miskeyed / "toy.yaml", "--html", out, "--force")
    assert result.exit_code != 0
    assert out.read_text(encoding="utf-8") == "previous report"


def test_item_plot_png_direct():
    from psyscore.report.plots import item_plot_png

    png = item_plot_png(
        ["a", "b"],
        frequencies={"a": {"1": 5, "2": 5}, "b": {"1": 2, "2": 6}},
        n_rows=10,
        r_drop=[0.4, None],
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, _ = struct.unpack(">II", png[16:24])
    assert width == 900  # 9 inches at 100 dpi
