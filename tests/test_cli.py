"""The policydesk command: exit codes 0/1/2, located errors, JSON output, explanations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policydesk.cli import app

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted((ROOT / "policies").glob("*.yaml"))
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.stem)
def test_every_example_policy_passes_its_case_file(policy: Path) -> None:
    cases = ROOT / "policies" / "cases" / policy.name
    code, out, err = invoke("policy", "test", str(cases), "--policy", str(policy), "--json")
    doc = json.loads(out)
    assert (code, doc["failed"], err) == (0, 0, "")
    assert doc["passed"] >= 10


def test_the_five_seed_policies_ship() -> None:
    assert [p.stem for p in POLICIES] == [
        "ecellar",
        "rarelogic",
        "restaurant",
        "storebuilder",
        "storeconnect",
    ]


def test_failing_case_exits_1_and_explains(tmp_path: Path) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: wrong on purpose\n"
        "    ticket: {received: '2026-11-24T15:01:00-08:00', plan: standard}\n"
        "    expect: {acknowledge_by: '2026-11-24T17:00:00-08:00'}\n"
    )
    code, out, _ = invoke(
        "policy", "test", str(cases), "--policy", str(ROOT / "policies/ecellar.yaml")
    )
    assert code == 1
    assert "FAIL wrong on purpose" in out
    assert (
        "acknowledge_by: expected 2026-11-24T17:00:00-08:00, got 2026-11-26T01:00:00+00:00" in out
    )
    assert "due by close of the next business day (2026-11-25)" in out
    assert "0 passed, 1 failed" in out


def test_json_output_has_the_documented_shape(tmp_path: Path) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: late cancellation\n"
        "    meetings:\n"
        "      - {scheduled_for: '2026-11-24T10:00:00Z', cancelled_at: '2026-11-24T09:00:00Z'}\n"
        "      - {scheduled_for: '2026-11-25T10:00:00Z', cancelled_at: '2026-11-25T09:00:00Z'}\n"
        "    expect: {fees: ['0.00', '37.50']}\n"
    )
    code, out, _ = invoke(
        "policy", "test", str(cases), "--policy", str(ROOT / "policies/ecellar.yaml"), "--json"
    )
    doc = json.loads(out)
    assert code == 0
    assert doc["passed"] == 1
    assert doc["failed"] == 0
    (case,) = doc["cases"]
    assert set(case) == {"name", "passed", "expected", "actual", "explanation"}
    assert case["actual"] == {"fees": ["0.00", "37.50"]}


def test_invalid_case_file_exits_2_with_located_errors(tmp_path: Path) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: typo\n"
        "    ticket: {received: '2026-11-24T15:01:00', plan: gold}\n"
        "    expect: {acknowledge_by: '2026-11-24T17:00:00-08:00'}\n"
    )
    code, out, err = invoke(
        "policy", "test", str(cases), "--policy", str(ROOT / "policies/ecellar.yaml")
    )
    assert code == 2
    assert out == ""
    assert f"{cases}:3:24: cases.0.ticket.received: Input should have timezone info" in err
    assert "Traceback" not in err


def test_unknown_names_in_a_case_are_located(tmp_path: Path) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: typo\n"
        "    ticket: {received: '2026-11-24T15:01:00Z', plan: gold}\n"
        "    expect: {resolve_by: null}\n"
    )
    code, _, err = invoke(
        "policy", "test", str(cases), "--policy", str(ROOT / "policies/ecellar.yaml")
    )
    assert code == 2
    assert f"{cases}:3:54: unknown plan 'gold'; expected one of: standard" in err
    assert f"{cases}:4:26: the policy has no resolve clock" in err


def test_malformed_policy_exits_2_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncalendars: {}\npriorities: []\n")
    code, _, err = invoke("policy", "check", str(bad))
    assert code == 2
    assert err.splitlines() == [
        f"{bad}:1:1: default_priority: required, but missing",
        f"{bad}:2:1: calendars: Dictionary should have at least 1 item after validation, not 0",
        f"{bad}:3:1: priorities: List should have at least 1 item after validation, not 0",
    ]


def test_missing_policy_file_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = invoke("policy", "check", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "nope.yaml:1:1: cannot read: No such file or directory" in err


def test_policy_check_prints_the_version() -> None:
    code, out, _ = invoke("policy", "check", str(ROOT / "policies/rarelogic.yaml"))
    assert code == 0
    assert "ok — RareLogic support policies" in out
    assert "clocks    first_response, next_response" in out


def test_schema_is_json_schema_for_editors() -> None:
    code, out, _ = invoke("policy", "schema")
    schema = json.loads(out)
    assert code == 0
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"calendars", "priorities", "clocks", "billing"} <= set(schema["properties"])


def test_sla_explain_shows_local_and_utc_with_steps() -> None:
    code, out, _ = invoke(
        "sla", "explain",
        "--policy", str(ROOT / "policies/ecellar.yaml"),
        "--received", "2026-11-24T15:01:00-08:00",
        "--subject", "Customers cannot place orders",
    )  # fmt: skip
    assert code == 0
    assert "priority  immediate: mentions 'cannot place orders' (EC10)" in out
    assert "acknowledge: Wed 2026-11-25 17:00:00 PST  (2026-11-26 01:00:00 UTC)" in out
    assert "clocks.acknowledge.targets[0]" in out


def test_sla_explain_rejects_a_naive_instant_and_unknown_names() -> None:
    policy = str(ROOT / "policies/ecellar.yaml")
    code, _, err = invoke("sla", "explain", "--policy", policy, "--received", "2026-11-24T15:01")
    assert code == 2
    assert "has no time zone" in err
    code, _, err = invoke(
        "sla", "explain", "--policy", policy, "--received", "2026-11-24T15:01Z", "--plan", "gold"
    )
    assert code == 2
    assert "--plan: unknown 'gold'; expected one of: standard" in err


def test_names_are_printed_as_written_not_as_markup(tmp_path: Path) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: '[bold]odd [/] name'\n"
        "    ticket: {received: '2026-11-24T15:01:00-08:00', plan: standard}\n"
        "    expect: {acknowledge_by: '2026-11-24T17:00:00-08:00'}\n"
    )
    code, out, _ = invoke(
        "policy", "test", str(cases), "--policy", str(ROOT / "policies/ecellar.yaml")
    )
    assert code == 1
    assert "FAIL [bold]odd [/] name" in out


def test_instants_outside_the_supported_years_are_a_clear_error() -> None:
    policy = str(ROOT / "policies/ecellar.yaml")
    code, _, err = invoke("sla", "explain", "--policy", policy, "--received", "9999-12-31T00:00Z")
    assert code == 2
    assert "between the years 1900 and 2399" in err


def test_a_timeline_before_receipt_is_located(tmp_path: Path) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: impossible\n"
        "    ticket: {received: '2026-11-24T15:01:00-08:00', plan: standard}\n"
        "    events: [{at: '2026-11-24T15:00:00-08:00', type: reply}]\n"
        "    as_of: '2026-11-23T00:00:00-08:00'\n"
        "    expect: {met: [acknowledge]}\n"
    )
    code, _, err = invoke(
        "policy", "test", str(cases), "--policy", str(ROOT / "policies/ecellar.yaml")
    )
    assert code == 2
    assert err.splitlines() == [
        f"{cases}:4:19: this event is before receipt",
        f"{cases}:5:12: as_of is before the ticket was received",
    ]


def test_a_policy_template_that_is_not_jinja_is_located(tmp_path: Path) -> None:
    text = (ROOT / "policies" / "storebuilder.yaml").read_text()
    text += '\ntemplates:\n  acknowledgement: "[#{{ ticket.id }] Thanks\\n\\nHello {% if %}"\n'
    path = tmp_path / "p.yaml"
    path.write_text(text)
    code, _, err = invoke("policy", "check", str(path))
    assert code == 2
    line = text.splitlines().index(next(x for x in text.splitlines() if "acknowledgement:" in x))
    assert err == f"{path}:{line + 1}:20: not a valid template (its line 1): unexpected '}}'\n"


def test_worker_once_acts_at_the_instant_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("POLICYDESK_SMTP_PORT", "9")  # nothing listens: deliveries wait
    assert invoke("db", "upgrade")[0] == 0
    code, out, _ = invoke("worker", "--once", "--start-at", "2026-11-27T16:59:00-05:00")
    assert code == 0
    assert out.startswith("swept 0 tickets")
