from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from outreach.app.cli import app

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in app.registered_commands:
        assert (name.name or name.callback.__name__) in result.output  # type: ignore[union-attr]


def test_every_command_has_help() -> None:
    names = [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore[union-attr]
    for name in names:
        result = runner.invoke(app, [name.replace("_", "-"), "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_synth_json_prints_one_object(tmp_path: Path) -> None:
    out = tmp_path / "ext"
    result = runner.invoke(
        app, ["--json", "synth", "--profile", "region_small", "--citizens", "200", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n_citizens"] == 200
    assert Path(payload["truth_path"]).parent == tmp_path
    assert (out / "extract.json").exists()


def test_synth_bad_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "x"), "--citizens", "0"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "ConfigError: The 'citizens' parameter of profiles/region_demo.toml must be an int "
        "in the range [1, inf). Got 0 instead."
    ]


def _leaf_commands(group, prefix=()):  # type: ignore[no-untyped-def]
    import typer.main

    click_group = typer.main.get_command(group) if not hasattr(group, "commands") else group
    for name, command in click_group.commands.items():
        if hasattr(command, "commands"):
            yield from _leaf_commands(command, (*prefix, name))
            if command.callback is not None and command.invoke_without_command:
                yield (*prefix, name)
        else:
            yield (*prefix, name)


def test_every_command_accepts_json() -> None:
    missing = []
    for path in _leaf_commands(app):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        if "--json" not in result.output:
            missing.append(" ".join(path))
    assert missing == []


def test_synth_world_writes_world_json_beside_the_extract(tmp_path: Path) -> None:
    out = tmp_path / "ext"
    args = ["--json", "synth", "--world", "5", "--profile", "region_small"]
    args += ["--citizens", "300", "--out", str(out), "--format", "parquet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    world = json.loads(Path(payload["world_path"]).read_text(encoding="utf-8"))
    assert Path(payload["world_path"]) == tmp_path / "ext.world.json"
    assert world["world_seed"] == 5
    assert (out / "lab_results.parquet").exists()


def test_synth_bad_world_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "x"), "--world", "-1"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "ConfigError: The 'seed' parameter of World must be an int in the range "
        "[0, 4294967295]. Got -1 instead."
    ]
