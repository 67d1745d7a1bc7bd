"""Model pages for data scientists: grouped metrics, two versions, MLflow figures."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from outreach.app.web.i18n import TEXT
from outreach.app.web.versions import VersionView, compare_versions, group_metrics
from tests.outreach.model_registry import NAME, build_registry

DA = TEXT["da"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    """Two registered versions of toy_web, logged once per module."""
    return build_registry(tmp_path_factory.mktemp("registry"))


@pytest.fixture
def dan(client_for, web_settings, registry):
    """The data scientist, over a copy of the registry (its artifacts stay put)."""
    shutil.copy(registry.output_dir / "mlflow.db", web_settings.output_dir)
    return client_for("dan")


def _logged(registry, version: str) -> dict:
    from models.tracking import load_run_text, resolve_model

    run_id = resolve_model(registry, f"{NAME}@{version}").run_id
    return json.loads(load_run_text(registry, run_id, "evaluation/metrics.json"))


def _view(metrics: dict, **changes) -> VersionView:
    values = {
        "name": "m",
        "version": "1",
        "run_id": "r",
        "metrics": metrics,
        "ks": {"capacity": 40},
        "fingerprint": {"extract_hash": "h", "test_index_date": "2025-06-01"},
        "summary": {},
    }
    return VersionView(**{**values, **changes})


def _da(value: float, spec: str = ".3f") -> str:
    """A number as the Danish pages write it."""
    return format(value, spec).replace(".", ",")


def _estimate(value: float) -> dict[str, float]:
    return {"value": value, "ci_low": value - 0.1, "ci_high": value + 0.1}


def test_group_metrics_puts_each_metric_in_its_table_capacity_first() -> None:
    metrics = {
        "precision_at_5pct": _estimate(0.5),
        "roc_auc": _estimate(0.7),
        "precision_at_capacity": _estimate(0.6),
        "recall_at_capacity": _estimate(0.3),
        "calibration_slope": {"value": float("inf"), "ci_low": 0.1, "ci_high": 2},
        "novel_metric": _estimate(0.2),
    }
    groups = group_metrics(metrics, {"capacity": 40, "5pct": 20})
    assert [(g["group"], g.get("k_name")) for g in groups] == [
        ("at_k", "capacity"),
        ("at_k", "5pct"),
        ("discrimination", None),
        ("calibration", None),
        ("other", None),
    ]
    assert [r["metric"] for r in groups[0]["rows"]] == ["precision", "recall"]
    assert groups[0]["k"] == 40 and groups[1]["share"] == "5"
    assert groups[3]["rows"][0]["value"] is None  # an infinite slope is not a number


def test_version_shows_only_the_latest_monitoring_week_of_each_programme() -> None:
    files = [
        "plots/calibration.png",
        "monitoring/bus/2026-W47/volume.png",
        "monitoring/bus/2026-W48/volume.png",
        "monitoring/bus/2026-W48/monitoring.json",
        "monitoring/smi/2026-W40/scores.png",
        "shap/summary.png",
    ]
    assert _view({}, files=files).figures == [
        "plots/calibration.png",
        "monitoring/bus/2026-W48/volume.png",
        "monitoring/smi/2026-W40/scores.png",
        "shap/summary.png",
    ]


def test_compare_versions_subtracts_point_estimates_and_flags_other_data() -> None:
    a = _view({"precision_at_capacity": _estimate(0.5), "roc_auc": _estimate(0.7)})
    b = _view(
        {"precision_at_capacity": _estimate(0.6)},
        version="2",
        ks={"capacity": 38},
        fingerprint={"extract_hash": "other", "test_index_date": "2025-06-01"},
    )
    result = compare_versions(a, b)
    at_k, discrimination = result["groups"]
    assert at_k["rows"][0]["difference"] == pytest.approx(0.1)
    assert (at_k["k_a"], at_k["k_b"]) == (40, 38)
    assert discrimination["rows"][0]["b"]["value"] is None  # not logged by b
    assert discrimination["rows"][0]["difference"] is None
    assert not result["same_extract_and_date"] and not result["same_k"]


def test_model_page_groups_metrics_with_intervals_and_shows_figures(
    dan, registry
) -> None:
    page = dan.get(f"/models/{NAME}/2")
    assert page.status_code == 200
    logged = _logged(registry, "2")["precision_at_capacity"]
    assert "precision_at_capacity.value" not in page.text  # no dotted keys
    assert DA["dsm_precision"] in page.text
    assert DA["ds_group_at_k"].format(k_name=DA["ds_k_capacity"], k=40) in page.text
    interval = f"{_da(logged['ci_low'])} – {_da(logged['ci_high'])}"
    assert interval in page.text
    assert f'src="/models/{NAME}/2/artifacts/plots/calibration.png"' in page.text
    assert f'action="/models/{NAME}/compare"' in page.text


def test_compare_page_shows_both_versions_and_the_difference(dan, registry) -> None:
    page = dan.get(f"/models/{NAME}/compare?a=1&b=2")
    assert page.status_code == 200
    a = _logged(registry, "1")["precision_at_capacity"]["value"]
    b = _logged(registry, "2")["precision_at_capacity"]["value"]
    assert _da(a) in page.text and _da(b) in page.text  # Danish decimal comma
    assert f'<td class="difference">{_da(b - a, "+.3f")}</td>' in page.text
    assert DA["ds_no_paired_interval"] in page.text  # none is invented
    assert DA["ds_other_test_data"] not in page.text  # same extract and test date
    assert f"/models/{NAME}/1/artifacts/plots/precision_at_k.png" in page.text
    assert f"/models/{NAME}/2/artifacts/plots/precision_at_k.png" in page.text


def test_compare_page_shows_a_paired_promotion_of_the_two_versions(
    client_for, web_settings, registry
) -> None:
    from models.promote import PROMOTIONS_DDL

    con = duckdb.connect(str(web_settings.warehouse))
    try:
        con.execute("create schema if not exists models")
        con.execute(PROMOTIONS_DDL)
        con.execute(
            "insert into models.promotions values ('2026-11-20 10:00', $name, '2',"
            " '1', 'promoted', 'precision', 40, '2025-06-01', 400, 0.61, 0.52,"
            " false, null)",
            {"name": NAME},
        )
    finally:
        con.close()
    shutil.copy(registry.output_dir / "mlflow.db", web_settings.output_dir)
    page = client_for("dan").get(f"/models/{NAME}/compare?a=1&b=2").text
    assert DA["ds_paired_title"] in page
    assert "<td>precision@40</td><td>2025-06-01</td><td>400</td>" in page
    assert "<td>0,610</td><td>0,520</td><td>promoted</td>" in page


def test_compare_page_without_versions_compares_the_newest_two(dan) -> None:
    page = dan.get(f"/models/{NAME}/compare?lang=en")
    assert TEXT["en"]["ds_compare_intro"].format(a="1", b="2") in page.text


def test_compare_page_with_an_unknown_version_says_so_without_paths(
    dan, web_settings
) -> None:
    page = dan.get(f"/models/{NAME}/compare?a=1&b=9")
    assert page.status_code == 200
    assert "NotFoundError" in page.text
    assert "mlflow.db" not in page.text and "sqlite:" not in page.text
    assert str(web_settings.output_dir.resolve()) not in page.text


def test_artifact_route_sends_a_logged_figure(dan) -> None:
    response = dan.get(f"/models/{NAME}/1/artifacts/plots/calibration.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert "sandbox" in response.headers["content-security-policy"]
    summary = dan.get(f"/models/{NAME}/1/artifacts/evaluation/metrics.json")
    assert summary.status_code == 200 and "roc_auc" in summary.json()


@pytest.mark.parametrize(
    "path",
    [
        "plots/none.png",  # not logged
        "data/fingerprint.json",  # logged, but not a figure or evaluation file
        "plots/..%2F..%2F..%2Fmlflow.db",
        "..%2Fmlflow.db",
        "plots/.hidden.png",
    ],
)
def test_artifact_route_refuses_anything_else(dan, path: str) -> None:
    assert dan.get(f"/models/{NAME}/1/artifacts/{path}").status_code == 404


def test_artifact_route_is_closed_to_coordinators(client_for, dan) -> None:
    url = f"/models/{NAME}/1/artifacts/plots/calibration.png"
    assert client_for("anna").get(url).status_code == 403
    assert client_for("rita").get(url).status_code == 200
