"""Clinical suppression rules of a programme: already screened, in-patient now.

``outreach/sql/clinical_suppressions.sql`` finds the cohort citizens a
programme's clinical rules keep off this week's list (``screened_within_days``:
an HbA1c and a lipid test both in the window; ``exclude_inpatients``: admitted
and not discharged at the as-of date). :func:`apply_clinical_suppressions` marks
them in the candidates table that ``outreach/sql/exclusions.sql`` built, only
where no earlier rule already applies, so protected exclusions keep their
reason. :func:`outreach.rank.select_candidates` calls it before counting.
"""

from __future__ import annotations

from datetime import date

import duckdb

from features.db import read_sql
from outreach.programmes import Programme

__all__ = ["CLINICAL_RULES", "apply_clinical_suppressions", "clinical_rules"]

#: Clinical suppression rules, in the order they are applied.
CLINICAL_RULES = ("screened", "inpatient")

_UPDATE = """
update {table} as c
set exclusion = s.exclusion
from ({sql}) as s
where s.citizen_id = c.citizen_id and c.exclusion is null
"""


def clinical_rules(programme: Programme) -> tuple[str, ...]:
    """Return the clinical rules a programme turns on, in the order they apply."""
    on = {
        "screened": programme.screened_within_days > 0,
        "inpatient": programme.exclude_inpatients,
    }
    return tuple(rule for rule in CLINICAL_RULES if on[rule])


def apply_clinical_suppressions(
    con: duckdb.DuckDBPyConnection,
    programme: Programme,
    *,
    as_of: date,
    table: str,
) -> None:
    """Mark eligible candidates whom the programme's clinical rules suppress.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse, with ``raw.lab_results`` and ``raw.hospital_contacts``.
    programme : Programme
        ``screened_within_days`` (0 = off) and ``exclude_inpatients``.
    as_of : date
        The list's as-of date.
    table : str
        The candidates table (``citizen_id``, ``exclusion``), updated in place.
    """
    if not clinical_rules(programme):
        return
    sql = read_sql("outreach", "sql", "clinical_suppressions.sql")
    con.execute(
        _UPDATE.format(table=table, sql=sql),
        {
            "as_of": as_of,
            "screened_days": programme.screened_within_days,
            "exclude_inpatients": programme.exclude_inpatients,
        },
    )
