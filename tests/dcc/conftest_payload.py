"""Fixtures for the payload tests (form, names, UVCI, value sets, schema, payload)."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path

import pytest

from appliance.config import DeviceSection, IssueSection

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
TYPES = {"v": "vaccination", "t": "test", "r": "recovery"}


def load_example(kind: str) -> dict:
    """A fresh copy of the packaged example input for type ``kind``."""
    text = (resources.files("appliance.dcc") / "examples" / f"{TYPES[kind]}.json").read_text(encoding="utf-8")
    return copy.deepcopy(json.loads(text))


@pytest.fixture
def example():
    """``example("v")`` -> a fresh copy of appliance/dcc/examples/vaccination.json."""
    return load_example


@pytest.fixture
def device() -> DeviceSection:
    return DeviceSection(id="test-device-7", country="DE", issuer="Impfzentrum Testhausen", uvci_issuer="TST1")


@pytest.fixture
def issue_section() -> IssueSection:
    return IssueSection()
