"""The SMI programme's rankings against the generator's truth, by GP-contact level.

``python -m bench.smi_compare region [--citizens 10000] [--profile region_small]``
``python -m bench.smi_compare world --seed 1 [--citizens 200000]``

The survey behind Opspor asks whether a list of citizens with severe mental
illness favours those already in regular GP contact. The audit
(:mod:`reports.gp_contact`) can only read need from the *recorded* outcome,
which may itself rise with GP contact. Here need is the generator's true
365-day somatic risk (:mod:`synthetic_data.smi_truth`): for each ranking (the
SMI models, the GP-journal-only comparator, the rule and the true-risk ranking
itself) at the same capacity,

- precision@k against the truth: the mean true risk of the top k as a share of
  the true-risk ranking's, and the true events among the top k (Wilson);
- the GP-contact comparison of :func:`reports.gp_contact.compare_gp_contact`
  with equal need read from the truth: ``equal_band`` is the top fifth by
  true risk, ``equal_outcome`` the citizens whose true harm happened; and the
  same comparison with need read from each recorded outcome, as the audit does.

``region`` generates a plain region (severe mental illness over-sampled as in
region_demo), trains every spec on it and compares at the first test date;
``world`` runs :func:`bench.robustness.evaluate_world` on one world of the
family with the SMI specs (the extract cut at the scoring date) and adds the
comparison. Results go to ``--work`` (never bench/results).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

SMI_SPECS = (
    "smi_somatic_365d",
    "smi_somatic_harm_365d",
    "smi_somatic_365d_gp",
    "smi_somatic_365d_rule",
)
#: The outcomes whose recorded labels give the audit's "equal outcome".
SMI_OUTCOMES = ("smi_somatic_365d", "smi_somatic_harm_365d")
TRUE_RISK = "true_risk_smi_somatic_365d"
TRUE_EVENT = "true_event_smi_somatic_365d"
SMI_PREVALENCE = 0.072  # x6, as region_demo (synthetic_data/README.md)
#: The comparison lists a quarter of the cohort: 13 weekly lists of the demo's
#: 25 out of its ~1,300 SMI citizens (tests/integration/test_smi_programme.py).
LISTED_SHARE = 0.25


def comparison_frame(
    scores: dict[str, pd.Series],
    truth_at: pd.DataFrame,
    groups: pd.DataFrame,
) -> pd.DataFrame:
    """One row per scored cohort citizen: every ranking's score, truth and groups.

    Parameters
    ----------
    scores : dict of str to Series
        Ranking name -> risk score by citizen id (the cohort is the first's).
    truth_at : DataFrame
        The SMI truth at the date, indexed by citizen id (``TRUE_RISK``,
        ``TRUE_EVENT``); citizens it lacks have risk 0 and no event.
    groups : DataFrame
        ``gp_contact_level`` and ``education_level`` by citizen id.
    """
    first = next(iter(scores.values()))
    frame = pd.DataFrame(index=first.index.sort_values())
    for name, series in scores.items():
        frame[f"score_{name}"] = series.reindex(frame.index).to_numpy(dtype=float)
    frame["score_truth"] = truth_at[TRUE_RISK].reindex(frame.index).fillna(0.0)
    frame["true_event"] = (
        truth_at[TRUE_EVENT].reindex(frame.index).fillna(False).astype(float)
    )
    for column in ("gp_contact_level", "education_level"):
        frame[column] = groups[column].reindex(frame.index).fillna("unknown")
    return frame


def _gap(per: dict[str, Any], need: str) -> dict[str, Any]:
    gap: dict[str, Any] = per["gp_contact_level"]["gap_regular_vs_none"][need]
    return gap


def _shares(per: dict[str, Any], need: str) -> dict[str, Any]:
    cells = per["gp_contact_level"][need]
    return {g: c["estimate"] for g, c in cells.items()}


def gp_contact_against_truth(
    frame: pd.DataFrame, rankings: list[str], k: int, n_bootstrap: int = 400
) -> dict[str, Any]:
    """Share listed by GP-contact level among citizens of equal *true* need.

    The true-risk ranking is the primary (its top fifth is ``equal_band``);
    ``equal_outcome`` is the true harm. Each ranking lists its top ``k``.
    """
    from reports.gp_contact import compare_gp_contact

    data = frame.assign(y_true=frame["true_event"])
    names = ["truth", *rankings]
    result = compare_gp_contact(
        data, rankings=names, k=k, n_bootstrap=n_bootstrap, min_cell=5
    )
    return {
        "k": k,
        "n_cohort": result["n_cohort"],
        "n_true_events": result["n_events"],
        "rankings": {
            name: {
                "equal_true_band": _shares(per, "equal_band"),
                "gap_equal_true_band": _gap(per, "equal_band"),
                "equal_true_event": _shares(per, "equal_outcome"),
                "gap_equal_true_event": _gap(per, "equal_outcome"),
            }
            for name, per in result["rankings"].items()
        },
    }


def gp_contact_against_recorded(
    frame: pd.DataFrame,
    rankings: list[str],
    labels: pd.Series,
    k: int,
    n_bootstrap: int = 400,
) -> dict[str, Any]:
    """The audit's comparison: equal need read from one recorded outcome."""
    from reports.gp_contact import compare_gp_contact

    data = frame.assign(y_true=labels.reindex(frame.index).to_numpy(dtype=float))
    result = compare_gp_contact(
        data, rankings=rankings, k=k, n_bootstrap=n_bootstrap, min_cell=5
    )
    return {
        "k": k,
        "n_events": result["n_events"],
        "rankings": {
            name: {
                "equal_outcome": _shares(per, "equal_outcome"),
                "gap_equal_outcome": _gap(per, "equal_outcome"),
            }
            for name, per in result["rankings"].items()
        },
    }


def precision_against_truth(
    frame: pd.DataFrame, rankings: list[str], k: int
) -> dict[str, Any]:
    """Mean true risk of each top k as a share of the true-risk ranking's, events."""
    from bench.robustness import wilson
    from models.metrics import top_k

    risk = frame["score_truth"].to_numpy(dtype=float)
    event = frame["true_event"].to_numpy(dtype=float)
    best = float(risk[top_k(risk, k)].mean())
    out: dict[str, Any] = {"k": k, "true_risk_top_k_expected": best}
    for name in ["truth", *rankings]:
        chosen = top_k(frame[f"score_{name}"].to_numpy(dtype=float), k)
        hits = int(event[chosen].sum())
        out[name] = {
            "expected_precision_at_k": float(risk[chosen].mean()),
            "ratio_to_true_risk": float(risk[chosen].mean() / best) if best else None,
            "realised_precision_at_k": hits / k,
            "realised_ci": wilson(hits, k),
        }
    return out


def compare(
    scores: dict[str, pd.Series],
    truth_at: pd.DataFrame,
    groups: pd.DataFrame,
    labels: dict[str, pd.Series],
    k: int,
) -> dict[str, Any]:
    """Precision against the truth at ``k`` and the GP-contact comparisons."""
    frame = comparison_frame(scores, truth_at, groups)
    rankings = list(scores)
    k_listed = max(1, round(LISTED_SHARE * len(frame)))
    return {
        "n_cohort": len(frame),
        "precision": precision_against_truth(frame, rankings, k),
        "precision_listed_share": precision_against_truth(frame, rankings, k_listed),
        "gp_contact_true_need": gp_contact_against_truth(frame, rankings, k_listed),
        "gp_contact_recorded": {
            outcome: gp_contact_against_recorded(frame, rankings, y, k_listed)
            for outcome, y in labels.items()
        },
    }


# --- the warehouse side ------------------------------------------------------


def read_groups(settings: Any, as_of: date) -> pd.DataFrame:
    """GP-contact level and education of every citizen at ``as_of``."""
    from features.db import connect

    con = connect(settings.warehouse)
    try:
        return (
            con.execute(
                "select citizen_id, gp_contact_level, education_level"
                " from marts.audit_attributes where as_of_date = $d",
                {"d": as_of},
            )
            .df()
            .set_index("citizen_id")
        )
    finally:
        con.close()


def read_labels(settings: Any, spec: str, as_of: date) -> pd.Series:
    """Recorded labels of the spec's outcome at ``as_of``, built there now.

    Call it after training and scoring: the spine is rebuilt at ``as_of`` only.
    """
    from bench.robustness import labels_at
    from features.build import build_features
    from features.db import connect

    con = connect(settings.warehouse)
    try:
        build_features(con, [as_of], checks=False)
        frame = labels_at(con, spec, as_of)
    finally:
        con.close()
    return frame.set_index("citizen_id")["label"]


def read_truth(path: Path, as_of: date) -> pd.DataFrame:
    """The SMI truth at ``as_of``, indexed by citizen id."""
    truth = pd.read_parquet(path)
    truth["index_date"] = pd.to_datetime(truth["index_date"]).dt.date
    return truth[truth["index_date"] == as_of].set_index("citizen_id")


def _region_scores(
    settings: Any, specs: tuple[str, ...], as_of: date
) -> dict[str, Any]:
    """Train every spec, score all at ``as_of``."""
    from features.db import connect
    from models.score import score_citizens
    from models.spec import load_spec
    from models.train import train_model

    trained = {s: train_model(load_spec(s), settings=settings) for s in specs}
    scores = {}
    for spec in specs:
        scored = score_citizens(settings, model=f"{spec}@1", as_of=as_of)
        con = connect(settings.warehouse)
        try:
            frame = con.execute(
                "select citizen_id, risk_score from scoring.scores"
                " where as_of_date = $d and model_uri = $uri",
                {"d": as_of, "uri": scored.model_uri},
            ).df()
        finally:
            con.close()
        scores[spec] = frame.set_index("citizen_id")["risk_score"]
    events = {s: trained[s].events for s in specs}
    test_dates = {s: str(trained[s].test_date) for s in specs}
    return {"scores": scores, "events": events, "test_dates": test_dates}


def run_region(
    work: Path, citizens: int, profile_name: str, k: int | None = None
) -> dict[str, Any]:
    """Generate a plain region, train the SMI specs, compare at the test date."""
    from bench.robustness import planned_scoring_date
    from features.load import load_extract
    from features.settings import EngineSettings
    from synthetic_data import generate_extract, load_profile

    started = time.perf_counter()
    profile = dataclasses.replace(
        load_profile(profile_name, citizens=citizens),
        smi_prevalence_by_age={"0-15": 0.0, "16-120": SMI_PREVALENCE},
    )
    generated = generate_extract(profile, work / "extract", fmt="parquet")
    settings = EngineSettings(
        output_dir=work / "build",
        mlflow_uri=f"sqlite:///{work / 'build' / 'mlflow.db'}",
    )
    load_extract(generated.out_dir, settings=settings)
    assert generated.truth_smi_path is not None
    # the truth's latest quarter start with a whole outcome year in the extract
    as_of = planned_scoring_date(profile.extract_date)
    trained = _region_scores(settings, SMI_SPECS, as_of)
    truth_at = read_truth(generated.truth_smi_path, as_of)
    labels = {o: read_labels(settings, o, as_of) for o in SMI_OUTCOMES}
    k = k or max(1, citizens // 1000)
    body = compare(trained["scores"], truth_at, read_groups(settings, as_of), labels, k)
    return {
        "region": profile_name,
        "citizens": citizens,
        "smi_prevalence": SMI_PREVALENCE,
        "as_of": as_of.isoformat(),
        "events": trained["events"],
        "test_dates": trained["test_dates"],
        **body,
        "seconds": round(time.perf_counter() - started, 1),
    }


def run_world(work: Path, seed: int, citizens: int) -> dict[str, Any]:
    """:func:`bench.robustness.evaluate_world` with the SMI specs (it compares)."""
    from bench.robustness import evaluate_world

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    return evaluate_world(seed, work / f"world_{seed}", citizens, SMI_SPECS)


def main(argv: list[str] | None = None) -> int:
    """Run one region or one world and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["region", "world"])
    parser.add_argument("--citizens", type=int, default=10_000)
    parser.add_argument("--profile", default="region_small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--k", type=int, default=None)
    parser.add_argument("--work", type=Path, default=Path("/tmp/smi2-compare"))
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.what == "region":
        body = run_region(args.work, args.citizens, args.profile, args.k)
    else:
        body = run_world(args.work, args.seed, args.citizens)
    text = json.dumps(body, indent=2, default=str)
    (args.work / f"{args.what}.json").write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
