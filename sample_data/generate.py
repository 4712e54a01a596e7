"""Generate the bundled sample data from the built-in definitions (seeded, reproducible).

    python sample_data/generate.py

Writes intake_batch.csv and intake_batch.sav (a program-intake batch of 400 men at three sites) and
intake_form_single.csv (one intake form). Answers come from a latent-trait model: each respondent has a
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
    print(f"wrote {N} respondents x {messy.shape[1]} columns to {HERE}")


if __name__ == "__main__":
    main()
