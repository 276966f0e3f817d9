"""``appliance rules eval``: true/false on the gateway's rule tests (exit 0), 2 on an invalid rule."""

from __future__ import annotations

import json

import pytest

from tests.support import reference as R
from tests.support.cli import clean_env, run_appliance

CASES = [(rule, test) for rule in sorted(R.RULES.glob("CZ/*/rule.json"))[:4]
         for test in sorted((rule.parent / "tests").glob("*.json"))[:2]]


@pytest.mark.parametrize("rule,test", CASES, ids=[f"{r.parent.name}/{t.stem}" for r, t in CASES])
def test_eval_prints_the_expected_result(rule, test, tmp_path):
    case = json.loads(test.read_text())
    payload, external = tmp_path / "dcc.json", tmp_path / "ext.json"
    payload.write_text(json.dumps(case["payload"]))
    external.write_text(json.dumps(case["external"]))
    proc = run_appliance("rules", "eval", "--rule", rule, "--payload", payload, "--external", external,
                         env=clean_env())
    assert proc.returncode == 0 and proc.stdout.strip() == str(case["expected"]).lower(), proc.stderr


@pytest.mark.parametrize("rule", [{"Logic": {"nope": [1]}}, {"nope": [1]}, {"if": [True]}])
def test_invalid_rule_exits_2(rule, tmp_path):
    (tmp_path / "rule.json").write_text(json.dumps(rule))
    (tmp_path / "dcc.json").write_text("{}")
    proc = run_appliance("rules", "eval", "--rule", tmp_path / "rule.json", "--payload", tmp_path / "dcc.json",
                         env=clean_env())
    assert proc.returncode == 2 and proc.stderr.startswith("appliance: error: --rule") and "Traceback" not in proc.stderr
