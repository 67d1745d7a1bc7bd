"""The ``opspor`` command line: one module per stage, assembled here.

Each module parses its options into a stage request, calls one ``run_<stage>``
entry function and renders the result (:mod:`outreach.app.cli._common`). This
file only names the commands, in the order ``opspor --help`` lists them.
"""

from __future__ import annotations

import typer

from outreach.app.cli import (
    access,
    features,
    lists,
    load,
    models,
    record,
    reports,
    score,
    synth,
    users,
    web,
)
from outreach.app.cli._common import main
from outreach.app.store.cli import store_app

__all__ = ["app"]

app = typer.Typer(
    name="opspor",
    help="Opspor: find citizens with chronic disease slipping out of care, fairly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.callback()(main)
app.command("synth")(synth.synth_command)
app.command("load")(load.load_command)
app.command("list")(lists.list_command)
app.command("record")(record.record_command)
app.command("evaluate")(record.evaluate_command)
app.command("programme-report")(record.programme_report_command)
app.command("audit-log")(record.audit_log_command)
app.add_typer(access.access_app, name="access-log")
app.command("train")(models.train_command)
app.command("promote")(models.promote_command)
app.command("score")(score.score_command)
app.command("explain")(score.explain_command)
app.command("audit")(reports.audit_command)
app.command("monitor")(reports.monitor_command)
app.command("card")(reports.card_command)
app.command("governance-pack")(reports.governance_pack_command)
app.add_typer(features.features_app, name="features")
app.add_typer(users.users_app, name="users")
app.add_typer(store_app, name="store")
app.command("serve")(web.serve_command)
app.command("opstore-sync")(web.opstore_sync_command)
app.command("weekly")(lists.weekly_command)
