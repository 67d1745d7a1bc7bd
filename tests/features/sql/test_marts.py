"""Given raw rows, expect the marts: every spine row and feature, no audit column."""

from __future__ import annotations

from datetime import date, timedelta

from features.checks import load_contract

T = date(2024, 6, 1)


def _raw() -> dict:
    day = T - timedelta(days=30)
    return {
        "citizens": [
            {
                "citizen_id": "c1",
                "education_level": "long_tertiary",
                "origin": "danish",
            },
            {
                "citizen_id": "c2",
                "sex": "F",
                "birth_date": date(2010, 1, 1),
                "education_level": "basic",
                "origin": "immigrant_non_western",
                "municipality_code": "360",
            },
            {"citizen_id": "c3", "birth_date": date(2025, 1, 1)},
        ],
        "diagnoses": [
            {"citizen_id": "c1", "diagnosis_date": day, "code": "DE119"},
            {"citizen_id": "c1", "diagnosis_date": day, "code": "DJ449"},
            {"citizen_id": "c1", "diagnosis_date": day, "code": "DF200"},
            {"citizen_id": "c1", "diagnosis_date": day, "code": "DI500"},
        ],
        "lab_results": [{"citizen_id": "c1", "sample_date": day, "value": 60.0}],
        "appointments": [
            {
                "citizen_id": "c2",
                "kind": "gp_consultation",
                "scheduled_date": day + timedelta(i),
                "status": "attended",
            }
            for i in range(3)
        ]
        + [
            {
                "citizen_id": "c1",
                "kind": "gp_consultation",
                "scheduled_date": day,
                "status": "attended",
            }
        ],
    }


def test_scoring_features_has_every_spine_row_and_contract_column(make_raw, build, con):
    make_raw(_raw())
    result = build([T, date(2025, 6, 1)])
    columns = [
        d[0] for d in con.execute("select * from marts.scoring_features").description
    ]
    assert sorted(columns) == sorted(
        load_contract("marts/scoring_features.yml").column_names
    )
    assert con.execute("select count(*) from marts.scoring_features").fetchall() == [
        (6,)
    ]
    assert {"education_level", "origin"}.isdisjoint(columns)
    assert result.n_rows == 6 and result.n_citizens == 3
    assert result.tables == [
        "marts.audit_attributes",
        "marts.scoring_features",
        "marts.broad_covariate_ref",
        "marts.broad_covariates",
    ]


def test_scoring_features_counts_chronic_groups(make_raw, build, con):
    make_raw(_raw())
    build([T])
    rows = con.execute(
        "select citizen_id, has_diabetes, has_copd, has_smi, has_heart_disease,"
        " n_chronic_groups from marts.scoring_features order by citizen_id"
    ).fetchall()
    assert rows == [
        ("c1", True, True, True, True, 4),
        ("c2", False, False, False, False, 0),
        ("c3", False, False, False, False, 0),
    ]


def test_audit_attributes_bands_and_gp_contact_levels(make_raw, build, rows_of):
    make_raw(_raw())
    build([T])
    assert rows_of(
        "marts.audit_attributes",
        [
            "citizen_id",
            "sex",
            "age_band",
            "education_level",
            "origin",
            "municipality_code",
            "has_smi",
            "gp_contact_level",
        ],
    ) == [
        {
            "citizen_id": "c1",
            "sex": "M",
            "age_band": "60-74",
            "education_level": "long_tertiary",
            "origin": "danish",
            "municipality_code": "390",
            "has_smi": True,
            "gp_contact_level": "low",
        },
        {
            "citizen_id": "c2",
            "sex": "F",
            "age_band": "0-17",
            "education_level": "basic",
            "origin": "immigrant_non_western",
            "municipality_code": "360",
            "has_smi": False,
            "gp_contact_level": "regular",
        },
        {
            "citizen_id": "c3",
            "sex": "M",
            "age_band": "unborn",
            "education_level": "basic",
            "origin": "danish",
            "municipality_code": "390",
            "has_smi": False,
            "gp_contact_level": "none",
        },
    ]


def test_audit_attributes_follow_the_feature_rules(make_raw, build, con):
    """age_band, has_smi and gp_contact_level agree with the scoring mart's columns."""
    make_raw(_raw())
    build([T, date(2025, 6, 1), date(2020, 1, 1)])
    disagreements = con.execute(
        """
        select count(*)
        from marts.audit_attributes as a
        inner join marts.scoring_features as f using (citizen_id, as_of_date)
        where a.has_smi <> f.has_smi
            or a.gp_contact_level <> case
                when f.n_gp_contacts_365d = 0 then 'none'
                when f.n_gp_contacts_365d < 3 then 'low' else 'regular' end
            or (a.age_band = 'unborn') <> (f.age_years is null)
            or a.age_band = '0-17' and f.age_years >= 18
            or a.age_band = '60-74' and not f.age_years between 60 and 74
        """
    ).fetchall()
    assert disagreements == [(0,)]
    n_rows = con.execute("select count(*) from marts.audit_attributes").fetchall()
    assert n_rows == [(9,)]
