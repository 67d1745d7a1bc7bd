"""Danish text of the audit's first page: the summary sentences and flag messages.

:mod:`reports.fairness.narrative` writes every sentence in English and this
module writes it in Danish from the same figures, so ``fairness.json`` holds both
(``summary`` / ``summary_da``, ``message`` / ``message_da``) and the report
shows the language chosen with ``opspor audit --lang da|en|both``. Group names
come from the ``phrase_da`` and ``labels_da`` of ``reports/fairness.toml``.
Numbers are written the Danish way (decimal comma, "45 %").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.config import INTERSECTION, FairnessConfig
from reports.fairness.narrative import (
    Blindness,
    flags_by_code,
    label_blindness,
    label_checked,
)
from reports.fairness.result import DETECTION_POWER, Flag

__all__ = [
    "CARE_GAP_DA",
    "calibration_message_da",
    "describe_da",
    "ratio_message_da",
    "reach_message_da",
    "summary_da",
]

#: Danish names of the care indicators of ``[care_gap]`` (English as fallback).
CARE_GAP_DA = {
    "attended_screening_365d": "fremmøde til øjenscreening",
    "attended_control_365d": "fremmøde til diabeteskontrol",
    "has_hba1c_test_365d": "en HbA1c-måling",
    "n_hba1c_tests_365d": "HbA1c-målinger",
    "redeemed_all_365d": "alle recepter indløst",
}


def _dec(value: float, digits: int = 2) -> str:
    """Return a number with a decimal comma."""
    return f"{value:.{digits}f}".replace(".", ",")


def _int(value: int) -> str:
    """Return a count with Danish thousands separators ("4.000")."""
    return f"{value:,}".replace(",", ".")


def _signed(value: float) -> str:
    """Return a signed number with one decimal and a decimal comma ("+5,7")."""
    return f"{value:+.1f}".replace(".", ",")


def _pct(value: float, digits: int = 0) -> str:
    """Return a share as a Danish percentage ("45 %")."""
    return f"{_dec(100 * value, digits)} %"


def describe_da(config: FairnessConfig, grouping: str, label: str) -> str:
    """Describe a group in Danish ("med grundskole"); intersections joined by "og".

    Parameters
    ----------
    config : FairnessConfig
    grouping : str
        Grouping name.
    label : str
        Group label.

    Returns
    -------
    str
    """
    found = config.grouping(grouping)
    if found.column:
        return found.describe(label, "da")
    parts = label.split(INTERSECTION, 1)
    return " og ".join(
        config.grouping(p).describe(v, "da")
        for p, v in zip(found.of, parts, strict=True)
    )


def _ci(config: FairnessConfig, low: float, high: float) -> str:
    """Return the interval in Danish ("95 % CI 0,41–0,77")."""
    return f"({_pct(config.confidence)} CI {_dec(low)}–{_dec(high)})"


def ratio_message_da(
    config: FairnessConfig,
    grouping: str,
    label: str,
    reference: str,
    metric: str,
    values: tuple[float, float, float],
) -> str:
    """Danish sentence of a ratio flag (reach, GP contact or label check).

    Parameters
    ----------
    config : FairnessConfig
    grouping, label, reference : str
        Grouping, the flagged group and its reference group.
    metric : str
        ``recall_at_k`` or ``label_ascertainment``.
    values : (float, float, float)
        Ratio and its interval.

    Returns
    -------
    str
    """
    ratio, low, high = values
    who = describe_da(config, grouping, label)
    ref = describe_da(config, grouping, reference)
    ci = _ci(config, low, high)
    if metric == "recall_at_k":
        text = (
            f"Borgere {who}, som fik udfaldet, havde {_dec(ratio)} gange så stor "
            f"chance for at komme på listen som borgere {ref} {ci}."
        )
        if config.grouping(grouping).flag == "gp_contact_bias":
            text += " Listen kan favorisere borgere, der allerede er i fast kontakt."
        return text
    return (
        f"For borgere {who} blev der fundet {_dec(ratio)} gange så mange "
        "komplikationer ved fremmøde pr. komplikation fundet ved en akut "
        f"indlæggelse som for borgere {ref}, inden for samme komplikationstype og "
        f"aldersgruppe {ci}: deres "
        "udfald kan være underregistreret, så en model trænet på det kan rangere "
        "dem for lavt."
    )


def calibration_message_da(
    config: FairnessConfig,
    grouping: str,
    label: str,
    predicted: float,
    values: tuple[float, float, float],
) -> str:
    """Danish sentence of a calibration flag.

    Parameters
    ----------
    config : FairnessConfig
    grouping, label : str
    predicted : float
        The group's mean predicted risk.
    values : (float, float, float)
        Observed minus predicted, and its interval.

    Returns
    -------
    str
    """
    gap, low, high = values
    return (
        f"For borgere {describe_da(config, grouping, label)} forudsagde modellen en "
        f"gennemsnitlig risiko på {_pct(predicted, 1)}, men {_pct(predicted + gap, 1)} "
        f"fik udfaldet (forskel {_signed(100 * gap)} procentpoint, "
        f"{_pct(config.confidence)} CI {_signed(100 * low)} til {_signed(100 * high)})."
    )


def reach_message_da(
    config: FairnessConfig, who: str, reference: str, cell: Mapping[str, Any]
) -> str:
    """Danish sentence of a reach flag against a reference ranking.

    Parameters
    ----------
    config : FairnessConfig
    who : str
        The group described in Danish (:func:`describe_da`).
    reference : str
        The reference ranking (``NAME@VERSION``).
    cell : Mapping
        ``ratio``, ``ci_low``, ``ci_high``, ``recall_audited``, ``recall_reference``
        (:func:`reports.reach.reach_against`).

    Returns
    -------
    str
    """
    return (
        f"Borgere {who}, som fik udfaldet, havde {_dec(cell['ratio'])} gange så stor "
        f"chance for at komme på listen som med {reference} ved samme kapacitet "
        f"{_ci(config, cell['ci_low'], cell['ci_high'])}: "
        f"{_pct(cell['recall_audited'])} af dem på listen mod "
        f"{_pct(cell['recall_reference'])}."
    )


def summary_da(
    config: FairnessConfig,
    counts: Mapping[str, int],
    k: int,
    overall: Mapping[str, Any],
    results: Mapping[str, Any],
    flags: Sequence[Flag],
) -> tuple[str, ...]:
    """Return the six summary sentences in Danish, from the English's figures.

    Parameters
    ----------
    config : FairnessConfig
    counts : Mapping
        ``n_cohort``, ``n_selected``, ``n_observed``.
    k : int
        Capacity.
    overall : Mapping
        The whole cohort's metric cells.
    results : Mapping
        Per-grouping results (as in ``fairness.json``).
    flags : sequence of Flag

    Returns
    -------
    tuple of str
    """
    by_code = flags_by_code(flags)
    if counts["n_observed"] == 0:
        return _unobserved_da(config, counts, k, results, by_code)
    return (
        _cohort_da(counts, k),
        _performance_da(overall),
        _flagged_da(
            by_code.get("under_reach", []),
            "Ingen gruppe af borgere med udfaldet havde markant mindre chance for "
            "at komme på listen end sin referencegruppe.",
            "Underdækning blev markeret for {n} gruppe(r), tydeligst her: ",
        ),
        _flagged_da(
            by_code.get("gp_contact_bias", []),
            "Blandt borgere med udfaldet havde de med lidt eller ingen lægekontakt "
            "ikke markant mindre chance for at komme på listen end de med fast "
            "kontakt.",
            "Listen kan hjælpe de raske ({n} gruppe(r)): ",
        ),
        _label_da(
            config,
            results,
            by_code.get("label_ascertainment", []),
            by_code.get("calibration_gap", []),
        ),
        _care_gap_da(config, results),
    )


def _cohort_da(counts: Mapping[str, int], k: int) -> str:
    """Sentence one in Danish: who the audit covers."""
    return (
        f"Auditten omfatter {_int(counts['n_cohort'])} borgere i kohorten; "
        f"{_int(counts['n_selected'])} var på listen ved kapacitet k = {_int(k)}, og "
        f"udfaldet kunne observeres for {_int(counts['n_observed'])} af dem."
    )


def _unobserved_da(
    config: FairnessConfig,
    counts: Mapping[str, int],
    k: int,
    results: Mapping[str, Any],
    by_code: Mapping[str, list[Flag]],
) -> tuple[str, ...]:
    """Return the six sentences in Danish when no outcome can be observed yet."""
    return (
        _cohort_da(counts, k),
        "Udfaldet kunne endnu ikke observeres for nogen borger, så hvor godt "
        "listen finder behovet, vides endnu ikke.",
        "Om listen når hver gruppes behov, vides endnu ikke: borgernes udfald "
        "ligger i fremtiden (gentag auditten, når udfaldsperioden er gået).",
        "Om listen favoriserer borgere i fast lægekontakt, vides af samme grund "
        "endnu ikke.",
        _label_da(config, results, by_code.get("label_ascertainment", []), None),
        _care_gap_da(config, results),
    )


def _performance_da(overall: Mapping[str, Any]) -> str:
    """Sentence two in Danish: precision, recall and AUROC."""
    cells = [overall.get(m) or {} for m in ("precision_at_k", "recall_at_k")]
    if any(c.get("estimate") is None for c in cells):
        return (
            "Udfaldet kunne endnu ikke observeres for nok borgere, så hvor godt "
            "listen finder behovet, vides endnu ikke."
        )
    precision, recall = (_pct(c["estimate"]) for c in cells)
    auroc = (overall.get("roc_auc_score") or {}).get("estimate")
    shown = _dec(auroc) if auroc is not None else "ikke tilgængelig"
    return (
        f"Af borgerne på listen, hvis udfald kunne observeres, fik {precision} "
        f"udfaldet, og listen nåede {recall} af alle borgere med udfaldet; "
        f"rangeringens AUROC var {shown}."
    )


def _flagged_da(flags: Sequence[Flag], none: str, some: str) -> str:
    """Return a flag family's sentence: the calm one, or the worst flag's."""
    if not flags:
        return none
    worst = min(flags, key=lambda f: f.estimate)
    return some.format(n=len(flags)) + worst.message_da


def _label_da(
    config: FairnessConfig,
    results: Mapping[str, Any],
    labels: Sequence[Flag],
    calibration: Sequence[Flag] | None,
) -> str:
    """Sentence five in Danish: the label check and calibration."""
    calib = _calibration_clause_da(calibration)
    if labels:
        shown = _flagged_groups_da(config, labels)
        return (
            f"Udfaldet kan være underregistreret for {shown}: færre af deres "
            "komplikationer blev fundet ved fremmøde pr. komplikation fundet ved en "
            "akut indlæggelse, så en model trænet på det kan rangere dem for "
            f"lavt{calib}."
        )
    if not label_checked(results):
        return (
            "Registreringstjekket (komplikationer fundet ved fremmøde mod dem fundet "
            "ved en akut indlæggelse) kunne ikke laves for denne kohorte"
            f"{calib}."
        )
    return _blind_da(config, label_blindness(config, results)) + f"{calib}."


def _blind_da(config: FairnessConfig, blind: Blindness | None) -> str:
    """Sentence five without a label flag: what the check could have seen."""
    if blind is None:
        return (
            "Registreringstjekket kunne ikke sammenligne nogen gruppe med sin "
            "reference: for få komplikationer blev fundet ved en akut indlæggelse "
            "til at kunne vises"
        )
    spread = (
        f"; i alle {blind.n_compared} sammenlignede grupper fra "
        f"{_dec(blind.lowest)} til {_dec(blind.highest)}"
        if blind.n_compared > 1
        else ""
    ) + (
        f"; yderligere {blind.n_unseen} gruppe(r) for små til at sammenligne"
        if blind.n_unseen
        else ""
    )
    return (
        "Registreringstjekket markerede ingen gruppe, men det viser ikke, at "
        "udfaldet registreres ens: ved denne regions antal kunne det kun have set "
        "en registreringsforskel, hvis komplikationer hos borgere "
        f"{describe_da(config, blind.grouping, blind.group)} blev registreret under "
        f"{_dec(blind.ratio)} gange så ofte som hos borgere "
        f"{describe_da(config, blind.grouping, blind.reference)} "
        f"({_pct(DETECTION_POWER)} styrke{spread})"
    )


def _calibration_clause_da(calibration: Sequence[Flag] | None) -> str:
    """Close sentence five on calibration (None: not yet known)."""
    if calibration is None:
        return "; kalibreringen i grupperne kendes endnu ikke"
    if calibration:
        return f"; kalibreringsforskelle blev markeret for {len(calibration)} gruppe(r)"
    return "; forudsagt og observeret risiko stemte overens i alle grupper"


def _flagged_groups_da(config: FairnessConfig, labels: Sequence[Flag]) -> str:
    """Name the first two flagged groups in Danish and count the others."""
    seen = list(
        dict.fromkeys(
            "borgere " + describe_da(config, f.grouping, f.group) for f in labels
        )
    )
    if len(seen) <= 2:
        return ", ".join(seen)
    rest = (
        " og 1 anden gruppe" if len(seen) == 3 else f" og {len(seen) - 2} andre grupper"
    )
    return ", ".join(seen[:2]) + rest


def _care_gap_da(config: FairnessConfig, results: Mapping[str, Any]) -> str:
    """Sentence six in Danish: the widest care gap whose interval excludes parity."""
    gaps = [
        (cell["ratio"], name, label, indicator)
        for name, result in results.items()
        if len(result["columns"]) == 1
        for label, group in result["groups"].items()
        for indicator, cell in group.get("care_gap", {}).items()
        if cell.get("ratio")
        and cell["ratio"]["ci_high"] is not None
        and cell["ratio"]["ci_high"] < 1.0
    ]
    if not gaps:
        return (
            "Behandlingen (fremmøde, målinger, indløste recepter) adskilte sig ikke "
            "mellem grupperne med et interval, der udelukker lighed."
        )
    ratio, name, label, indicator = min(gaps, key=lambda g: g[0]["estimate"])
    reference = str(results[name]["groups"][label]["reference"])
    what = CARE_GAP_DA.get(indicator, config.care_gap.get(indicator, indicator))
    return (
        "Behandlingen var forskellig mellem grupperne (til orientering, ikke et "
        f"registreringsflag): borgere {describe_da(config, name, label)} havde "
        f"{what} {_dec(ratio['estimate'])} gange så ofte som borgere "
        f"{describe_da(config, name, reference)} "
        f"(CI {_dec(ratio['ci_low'])}–{_dec(ratio['ci_high'])}); det er den "
        "forskel, opsøgende indsats skal lukke, ikke tegn på at udfaldet "
        "registreres mindre."
    )
