"""Finding 12, the command line: ``appliance issue --input`` with 100,000-deep JSON raised
RecursionError, and duplicate keys were accepted (the last one winning). Both are now one-line
input errors that name the problem, with nothing written."""

from __future__ import annotations

import json

import pytest

from appliance.cli import main


@pytest.fixture
def device_env(tmp_path, monkeypatch):
    cfg = tmp_path / "appliance.toml"
    cfg.write_text('[printer]\nkind = "file"\n[gpio]\nenabled = false\n')
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("APPLIANCE_CONFIG", str(cfg))
    monkeypatch.setenv("APPLIANCE_STATE_DIR", str(state))
    return state


def _issue(tmp_path, text: str, capsys) -> tuple[int, str]:
    path = tmp_path / "input.json"
    path.write_text(text)
    code = main(["issue", "--type", "v", "--input", str(path)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_input_is_an_input_error(tmp_path, device_env, capsys, opening):
    code, err = _issue(tmp_path, opening * 100_000, capsys)
    assert code == 1 and "Traceback" not in err and "RecursionError" not in err, err[-500:]
    assert "--input" in err and "nested" in err, err
    assert list(device_env.iterdir()) == []                          # nothing written


def test_duplicate_keys_are_refused_not_last_one_wins(tmp_path, device_env, capsys, example):
    data = example("v")
    text = json.dumps(data)[:-1] + ', "family_name": "Someone Else"}'   # a second family_name at the top
    assert text.count('"family_name"') == 2
    code, err = _issue(tmp_path, text, capsys)
    assert code == 1 and "Traceback" not in err, err
    assert "--input" in err and "family_name" in err and "twice" in err, err
    assert list(device_env.iterdir()) == []


def test_duplicate_keys_inside_a_section_are_refused(tmp_path, device_env, capsys, example):
    text = json.dumps(example("v")).replace('"vaccination": {', '"vaccination": {"date": "2020-01-01", ', 1)
    code, err = _issue(tmp_path, text, capsys)
    assert code == 1 and "vaccination" in err and "date" in err and "twice" in err, err
