"""The README's examples are real: its policy and case file load and its cases pass."""

from __future__ import annotations

import re
from pathlib import Path

from policydesk.casefile import load_cases, run_cases
from policydesk.core.policy import parse_policy

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)


def test_readme_policy_and_cases_work_together(tmp_path: Path) -> None:
    policy_text, cases_text = BLOCKS
    policy = parse_policy(policy_text, "README policy")
    cases = tmp_path / "cases.yaml"
    cases.write_text(cases_text)
    results = run_cases(policy, load_cases(cases, policy))
    assert [(r.name, r.failures) for r in results if not r.passed] == []
    assert len(results) == 3
