"""Fixtures shared by the tests. They run against the installed wheel, never the source tree."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

import spectra

SOURCE_PACKAGE = Path(__file__).resolve().parent.parent / "python" / "spectra"


def pytest_configure(config: pytest.Config) -> None:
    # The source tree has no native module; importing it would fail anyway, but say why.
    installed = Path(spectra.__file__).resolve().parent
    assert installed != SOURCE_PACKAGE.resolve(), f"tests must run on the installed wheel, not {installed}"


@pytest.fixture(scope="session")
def demo() -> spectra.Spectra:
    """One imported demo engine for read-only tests (tests that change state make their own)."""
    return spectra.Spectra.demo()


@pytest.fixture()
def fresh() -> spectra.Spectra:
    """A demo engine of the test's own, clock 12 hours in (so the last day has data)."""
    engine = spectra.Spectra.demo()
    engine.tick(12)
    return engine


@pytest.fixture()
def week(demo: spectra.Spectra) -> tuple[datetime, datetime]:
    now = demo.now()
    return now - timedelta(days=7), now
