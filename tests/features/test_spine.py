"""The spine: as-of date parsing and stepping, and main.spine itself."""

from __future__ import annotations

from datetime import date

import pytest

from features.errors import ConfigError
from features.spine import (
    AS_OF_CHOICE,
    BAD_AS_OF,
    BAD_EVERY,
    BAD_RANGE,
    NO_DATES,
    as_of_dates_between,
    parse_as_of,
    parse_as_of_range,
    resolve_as_of_dates,
    write_spine,
)
from tests.features.sql.raw_tables import create_raw


def test_as_of_dates_between_steps_months_from_the_start_clamping_the_day() -> None:
    assert as_of_dates_between(date(2024, 1, 31), date(2024, 5, 1), "1mo") == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]


@pytest.mark.parametrize(
    ("every", "expected"),
    [
        ("3mo", [date(2024, 1, 1), date(2024, 4, 1), date(2024, 7, 1)]),
        ("1w", [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)]),
        ("14d", [date(2024, 1, 1), date(2024, 1, 15), date(2024, 1, 29)]),
        ("1y", [date(2024, 1, 1)]),
    ],
)
def test_as_of_dates_between_other_steps(every: str, expected: list[date]) -> None:
    assert (
        as_of_dates_between(date(2024, 1, 1), date(2024, 7, 1), every)[:3] == expected
    )


def test_parse_as_of_range_includes_both_ends() -> None:
    dates = parse_as_of_range("2024-01-01:2026-11-01", "1mo")
    assert (dates[0], dates[-1], len(dates)) == (
        date(2024, 1, 1),
        date(2026, 11, 1),
        35,
    )


def test_resolve_as_of_dates_takes_one_date_or_a_range() -> None:
    assert resolve_as_of_dates("2026-11-23", None, "1mo") == [date(2026, 11, 23)]
    assert resolve_as_of_dates(None, "2026-01-01:2026-03-01", "1mo") == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]


def test_write_spine_crosses_every_citizen_with_every_date(con) -> None:
    create_raw(con, {"citizens": [{"citizen_id": "b"}, {"citizen_id": "a"}]})
    n = write_spine(con, [date(2024, 2, 1), date(2024, 1, 1), date(2024, 2, 1)])
    assert n == 4
    assert con.execute("select * from main.spine").fetchall() == [
        ("a", date(2024, 1, 1)),
        ("b", date(2024, 1, 1)),
        ("a", date(2024, 2, 1)),
        ("b", date(2024, 2, 1)),
    ]


class TestErrorMessages:
    def test_bad_as_of(self) -> None:
        with pytest.raises(ConfigError) as info:
            parse_as_of("23-11-2026")
        assert str(info.value) == BAD_AS_OF.format(value="23-11-2026")
        assert str(info.value) == (
            "The as-of date must be an ISO date (YYYY-MM-DD). Got '23-11-2026' instead."
        )

    @pytest.mark.parametrize("text", ["2024-01-01", "2024-02-01:2024-01-01", "x:y"])
    def test_bad_range(self, text: str) -> None:
        with pytest.raises(ConfigError) as info:
            parse_as_of_range(text, "1mo")
        assert str(info.value) == BAD_RANGE.format(value=text)

    @pytest.mark.parametrize("every", ["1", "0mo", "2months", "-1w"])
    def test_bad_every(self, every: str) -> None:
        with pytest.raises(ConfigError) as info:
            as_of_dates_between(date(2024, 1, 1), date(2024, 2, 1), every)
        assert str(info.value) == (
            "The 'every' step must be a positive number followed by d, w, mo or y "
            f"(e.g. 1mo, 3mo, 1w). Got {every!r} instead."
        )
        assert str(info.value) == BAD_EVERY.format(value=every)

    def test_both_or_neither(self) -> None:
        for args in [("2024-01-01", "2024-01-01:2024-02-01"), (None, None)]:
            with pytest.raises(ConfigError) as info:
                resolve_as_of_dates(*args, "1mo")
            assert str(info.value) == AS_OF_CHOICE
        assert (
            AS_OF_CHOICE
            == "Give exactly one of --as-of DATE and --as-of-range START:END."
        )

    def test_no_dates(self, con) -> None:
        create_raw(con, {})
        with pytest.raises(ConfigError) as info:
            write_spine(con, [])
        assert (
            str(info.value)
            == NO_DATES
            == "At least one as-of date is needed to build features."
        )
