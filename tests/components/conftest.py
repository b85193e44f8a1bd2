"""The data-plane fixture stack (tests/components/fixtures/Pulumi.data.yaml), synthesized once per session.

Like the GPU fixture, it replaces the prod stack in a copy of the project, so the same synthesis also
runs through the prod policy profile with real checkov.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from aiplane.synth.engine import synthesize_stack
from tests.conftest import fixture_project

DATA_FIXTURE = Path(__file__).parent / "fixtures" / "Pulumi.data.yaml"


@pytest.fixture(scope="session")
def data_project(tmp_path_factory) -> Path:
    return fixture_project(tmp_path_factory.mktemp("data-project"), DATA_FIXTURE)


@pytest.fixture(scope="session")
def data_stack(data_project):
    return synthesize_stack(data_project, "prod")
