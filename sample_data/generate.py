"""Generate the bundled sample data from the built-in definitions (seeded, reproducible).

    python sample_data/generate.py

Writes intake_batch.csv and intake_batch.sav (a program-intake batch of 400 men at three sites),
intake_form_single.csv (one intake form), and the same program-intake survey as Qualtrics would
export it (qualtrics_export.csv/.xlsx/.sav: three header rows, previews and spam, and GAD-7 built
with Qualtrics' default 1-4 recode values; qualtrics_map.yaml recodes it). Answers come from a latent-trait model: each respondent has a
distress level, a masculine-norm adherence level and a help-seeking openness level; each score of an
instrument adds its own specific factor; every item is a noisy indicator cut into the scale's
categories (a graded-response model), so subscale reliabilities are realistic (alpha about .7-.9).
Then real-world mess is added: blanks, declared missing codes, text answers and two typos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from psyscore import library
from psyscore.instrument import Bundle, Instrument

SEED = 20261121
N = 400
HERE = Path(__file__).resolve().parent

# which respondent-level factor drives each construct (sign: direction of the trait)
CONSTRUCT_FACTOR = {
    "clinical_screen": "distress",
    "masculine_norms": "masculinity",
    "emotional_competence": "masculinity",
    "help_seeking": "openness",
    "relationship": "distress",
    "other": "distress",
}


def _instruments() -> list[Instrument]:
    return [e.definition for e in library.builtin_entries() if not isinstance(e.definition, Bundle)]


def _column_name(inst: Instrument, number: int, item_id: str) -> str:
    # a couple of instruments use other common spellings, as real exports do
    if inst.id == "gad-7":
        return f"GAD7_{number:02d}"
    if inst.id == "k10":
        return f"K10_Q{number:02d}"
    return item_id


def simulate(rng: np.random.Generator, n: int) -> pd.DataFrame:
    factors = {
        "distress": rng.normal(0, 1, n),
        "masculinity": rng.normal(0, 1, n),
        "openness": rng.normal(0, 1, n),
    }
    # openness to help is lower in men who adhere strongly to masculine norms
    factors["openness"] = -0.4 * factors["masculinity"] + np.sqrt(1 - 0.16) * factors["openness"]
    table = {
        "respondent_id": [f"R{i:04d}" for i in range(1, n + 1)],
        "site": rng.choice(["north", "central", "harbour"], size=n, p=[0.4, 0.35, 0.25]),
        "age": np.clip(np.round(rng.normal(38, 11, n)), 18, 79).astype(int),
        "intake_date": pd.Timestamp("2026-01-05")
        + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
    }
    for inst in _instruments():
        general = factors[CONSTRUCT_FACTOR[inst.construct]]
        if inst.construct == "emotional_competence":
            general = -general  # adherence to restrictive norms goes with lower emotional skill
        item_factor = {}
        for spec in inst.scores.values():
            specific = rng.normal(0, 1, n)
            for item in spec.items or []:
                item_factor.setdefault(item, 0.75 * general + 0.5 * specific)
        for number, item in enumerate(inst.items, start=1):
            scale = inst.scale_of(item)
            codes = np.array(sorted(scale.values), dtype=float)
            latent = item_factor.get(item.id, general) + rng.normal(0, 0.7, n)
            if item.reverse:
                latent = -latent
            # clinical screens are skewed: most respondents answer at the bottom of the scale
            # and a critical item (thoughts of self-harm) is endorsed by few
            shift = 1.4 if inst.construct == "clinical_screen" else 0.0
            shift += 1.3 if item.critical else 0.0
            cuts = np.linspace(-1.5, 1.5, len(codes) - 1) + shift + rng.normal(0, 0.15)
            answer = codes[np.searchsorted(cuts, latent)]
            table[_column_name(inst, number, item.id)] = answer
    return pd.DataFrame(table)


def add_mess(rng: np.random.Generator, df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list]]:
    """Blanks (1.5%), declared missing codes (1%), and two out-of-range typos; returns user-missing."""
    item_cols = [c for c in df.columns if c not in {"respondent_id", "site", "age", "intake_date"}]
    values = df[item_cols].to_numpy(dtype=float, copy=True)
    blank = rng.random(values.shape) < 0.015
    values[blank] = np.nan
    refused = (rng.random(values.shape) < 0.01) & ~blank
    values[refused] = 99.0
    not_asked = (rng.random(values.shape) < 0.004) & ~blank & ~refused
    values[not_asked] = -99.0
    df = df.copy()
    df[item_cols] = values
    # two typos a data-entry clerk would make: 33 for 3 and 5 on a 0-3 item
    phq = [c for c in item_cols if c.startswith("phq9_")]
    if phq:
        df.loc[17, phq[2]] = 33.0
        df.loc[211, phq[5]] = 5.0
    missing = {c: [99.0, -99.0] for c in item_cols}
    return df, missing


def write_sav(df: pd.DataFrame, path: Path, user_missing: dict[str, list]) -> None:
    import pyreadstat

    labels, value_labels = {}, {}
    by_column = {}
    for inst in _instruments():
        for number, item in enumerate(inst.items, start=1):
            by_column[_column_name(inst, number, item.id)] = (inst, item)
    for col, (inst, item) in by_column.items():
        if col not in df.columns:
            continue
        labels[col] = f"{inst.id.upper()} {item.label}"
        vl = {float(c): lab for c, lab in inst.scale_of(item).values.items()}
        vl.update({99.0: "Refused", -99.0: "Not answered"})
        value_labels[col] = vl
    labels.update({"respondent_id": "Respondent ID", "site": "Program site", "age": "Age in years"})
    labels["intake_date"] = "Date of intake"
    pyreadstat.write_sav(
        df,
        str(path),
        column_labels=labels,
        variable_value_labels=value_labels,
        missing_ranges={c: v for c, v in user_missing.items() if c in df.columns},
        variable_measure={c: "ordinal" for c in by_column if c in df.columns},
        note="psyscore sample data: synthetic, generated by sample_data/generate.py",
    )


# ---- a Qualtrics export of the same survey ---------------------------------------------------

QUALTRICS_TAGS = {  # instrument -> the export tag a researcher gave its matrix question
    "mrni-sf": "MRNI",
    "erq": "ERQ",
    "atspph-sf": "ATSPPH",
    "phq-9": "PHQ9",
    "gad-7": "GAD7",
    "csi-4": "CSI4",
}
# GAD-7 was built with Qualtrics' default recode values (1-4 instead of 0-3): the export must be
# recoded (sample_data/qualtrics_map.yaml), and psyscore refuses to score it silently shifted.
QUALTRICS_SHIFTED = {"gad-7": 1}
STATUS_LABELS = {
    0.0: "IP Address",
    1.0: "Survey Preview",
    2.0: "Survey Test",
    4.0: "Imported",
    8.0: "Spam",
    9.0: "Preview Spam",
    12.0: "Imported Spam",
    16.0: "Offline",
    17.0: "Offline Survey Preview",
}
PREVIEW_AT, SPAM_AT = (5, 150, 300), (77, 333)  # data rows (0-based) of the inserted responses


def qualtrics_frames(rng: np.random.Generator, df: pd.DataFrame):
    """(numeric values, choice text, question text, ImportIds, value labels) of an export."""
    insts = {i.id: i for i in _instruments()}
    n = len(df)
    rows = n + len(PREVIEW_AT) + len(SPAM_AT)
    start = pd.Timestamp("2026-02-02 09:00") + pd.to_timedelta(
        np.sort(rng.integers(0, 200 * 24 * 60, rows)), unit="min"
    )
    duration = rng.integers(300, 1500, rows)
    status = np.zeros(rows)
    channel = np.array(["anonymous"] * rows, dtype=object)
    real = np.ones(rows, dtype=bool)
    for r in PREVIEW_AT:
        status[r], channel[r], real[r] = 1.0, "preview", False
    for r in SPAM_AT:
        status[r], real[r] = 8.0, False
    numeric: dict[str, object] = {
        "StartDate": start.strftime("%Y-%m-%d %H:%M:%S"),
        "EndDate": (start + pd.to_timedelta(duration, unit="s")).strftime("%Y-%m-%d %H:%M:%S"),
        "Status": status,
        "Progress": np.full(rows, 100.0),
        "Duration (in seconds)": duration.astype(float),
        "Finished": np.ones(rows),
        "ResponseId": [f"R_{i:015X}" for i in rng.integers(16**14, 16**15, rows)],
        "ExternalReference": np.array([None] * rows, dtype=object),
        "DistributionChannel": channel,
        "UserLanguage": np.array(["EN"] * rows, dtype=object),
    }
    numeric["ExternalReference"][real] = df["respondent_id"].to_numpy()
    text_q = {
        "StartDate": "Start Date",
        "EndDate": "End Date",
        "Status": "Response Type",
        "Progress": "Progress",
        "Duration (in seconds)": "Duration (in seconds)",
        "Finished": "Finished",
        "ResponseId": "Response ID",
        "ExternalReference": "External Data Reference",
        "DistributionChannel": "Distribution Channel",
        "UserLanguage": "User Language",
    }
    import_ids = {c: f'{{"ImportId":"{c[0].lower()}{c[1:]}"}}' for c in numeric}
    import_ids["StartDate"] = '{"ImportId":"startDate","timeZone":"Europe/London"}'
    import_ids["EndDate"] = '{"ImportId":"endDate","timeZone":"Europe/London"}'
    import_ids["Status"] = '{"ImportId":"status"}'
    import_ids["Duration (in seconds)"] = '{"ImportId":"duration"}'
    import_ids["ResponseId"] = '{"ImportId":"_recordId"}'
    value_labels: dict[str, dict[float, str]] = {
        "Status": STATUS_LABELS,
        "Finished": {0.0: "False", 1.0: "True"},
    }
    text: dict[str, object] = dict(numeric)
    text["Status"] = np.array([STATUS_LABELS[s] for s in status], dtype=object)
    text["Finished"] = np.array(["True"] * rows, dtype=object)
    # partly finished responses: the last instrument's answers missing
    partial = rng.choice(np.flatnonzero(real), 6, replace=False)
    numeric["Finished"][partial] = 0.0
    text["Finished"][partial] = "False"
    numeric["Progress"][partial] = np.round(rng.uniform(60, 95, len(partial)))
    for qid, (inst_id, tag) in enumerate(QUALTRICS_TAGS.items(), start=2):
        inst = insts[inst_id]
        shift = QUALTRICS_SHIFTED.get(inst_id, 0)
        for number, item in enumerate(inst.items, start=1):
            source = _column_name(inst, number, item.id)
            column = f"{tag}_{number}"
            scale = inst.scale_of(item)
            codes = np.full(rows, np.nan)
            codes[real] = df[source].to_numpy(dtype=float)
            fake = ~real
            codes[fake] = rng.choice(np.array(sorted(scale.values), dtype=float), fake.sum())
            blank = rng.random(rows) < 0.01
            unanswered = (rng.random(rows) < 0.01) & ~blank  # "seen but unanswered" recoded -99
            if inst_id == "csi-4":
                blank[partial] = True
            labels_of = {float(c): lab for c, lab in scale.values.items()}
            text_col = np.array([labels_of.get(c) for c in codes], dtype=object)
            codes = codes + shift
            codes[blank] = np.nan
            codes[unanswered] = -99.0
            text_col[blank] = None
            text_col[unanswered] = "-99"
            numeric[column], text[column] = codes, text_col
            text_q[column] = f"{inst.name} - {item.label}"
            import_ids[column] = f'{{"ImportId":"QID{qid}_{number}"}}'
            value_labels[column] = {float(c) + shift: lab for c, lab in scale.values.items()}
    for name, values in (("site", df["site"]), ("age", df["age"].astype(float))):
        column = np.full(rows, None if name == "site" else np.nan, dtype=object)
        column[real] = values.to_numpy()
        numeric[name] = column if name == "site" else column.astype(float)
        text[name] = numeric[name]
        text_q[name], import_ids[name] = name, f'{{"ImportId":"{name}"}}'
    return pd.DataFrame(numeric), pd.DataFrame(text), text_q, import_ids, value_labels


def write_qualtrics(rng: np.random.Generator, df: pd.DataFrame) -> None:
    """qualtrics_export.csv (numeric values), .xlsx (choice text), .sav (SPSS export)."""
    import csv

    import openpyxl
    import pyreadstat

    numeric, text, questions, import_ids, value_labels = qualtrics_frames(rng, df)

    def header_rows(frame: pd.DataFrame) -> list[list[object]]:
        return [
            list(frame.columns),
            [questions[c] for c in frame.columns],
            list(import_ids.values()),
        ]

    csv_frame = numeric.copy()
    for col in csv_frame.columns:
        if pd.api.types.is_float_dtype(csv_frame[col]):
            csv_frame[col] = csv_frame[col].astype("Int64")
    with (HERE / "qualtrics_export.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerows(header_rows(csv_frame))
        csv_frame.to_csv(fh, index=False, header=False)

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet0"
    for row in header_rows(text):
        sheet.append(row)
    for row in text.itertuples(index=False):
        sheet.append([None if pd.isna(v) else v for v in row])
    book.save(HERE / "qualtrics_export.xlsx")

    sav = numeric.rename(columns={"Duration (in seconds)": "Duration__in_seconds_"})
    labels = {c: questions[c] for c in numeric.columns}
    labels["Duration__in_seconds_"] = labels.pop("Duration (in seconds)")
    pyreadstat.write_sav(
        sav,
        str(HERE / "qualtrics_export.sav"),
        column_labels=[labels[c] for c in sav.columns],
        variable_value_labels=value_labels,
        variable_measure={c: "nominal" for c in ("Status", "Finished")},
    )


def main() -> None:
    rng = np.random.default_rng(SEED)
    df = simulate(rng, N)
    messy, user_missing = add_mess(rng, df)
    csv = messy.copy()
    csv["intake_date"] = csv["intake_date"].dt.strftime("%Y-%m-%d")
    # in the CSV export a few answers arrive as text labels, as some survey tools export them
    phq1 = "phq9_1"
    if phq1 in csv.columns:
        csv[phq1] = csv[phq1].astype(object)
        labels = {
            0.0: "Not at all",
            1.0: "Several days",
            2.0: "More than half the days",
            3.0: "Nearly every day",
        }
        rows = rng.choice(len(csv), 12, replace=False)
        for r in rows:
            v = csv.at[r, phq1]
            if v in labels:
                csv.at[r, phq1] = labels[v]
    # a CSV carries no missing-value declarations: keep 99/-99 only where the definition declares them
    for inst in _instruments():
        declared = {float(c) for c in inst.missing_codes if not isinstance(c, str)}
        for number, item in enumerate(inst.items, start=1):
            col = _column_name(inst, number, item.id)
            if col in csv.columns:
                for code in {99.0, -99.0} - declared:
                    csv.loc[csv[col] == code, col] = np.nan
    for col in csv.columns:
        if pd.api.types.is_float_dtype(csv[col]):
            csv[col] = csv[col].astype("Int64")
    csv.to_csv(HERE / "intake_batch.csv", index=False)
    write_sav(messy, HERE / "intake_batch.sav", user_missing)
    single = df.iloc[[0]].copy()
    single["intake_date"] = single["intake_date"].dt.strftime("%Y-%m-%d")
    single.to_csv(HERE / "intake_form_single.csv", index=False)
    # its own random stream, so the files above stay as they were before this export existed
    write_qualtrics(np.random.default_rng(SEED + 1), df)
    print(f"wrote {N} respondents x {messy.shape[1]} columns to {HERE}")


if __name__ == "__main__":
    main()
