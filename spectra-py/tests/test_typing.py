"""The hand-written stubs type-check a realistic use of the API and the tests themselves."""

from __future__ import annotations

from pathlib import Path

from mypy import api

HERE = Path(__file__).resolve().parent


def test_stubs_type_check_with_mypy_strict() -> None:
    files = [str(HERE / "typed_usage.py"), str(HERE / "test_engine.py"), str(HERE / "test_threads.py")]
    stdout, stderr, status = api.run(["--strict", "--no-incremental", "--cache-dir=/dev/null", *files])
    assert status == 0, stdout + stderr


def test_stubs_reject_misuse(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import spectra\n"
        "s = spectra.Spectra()\n"
        "s.rank_regions(current_region=3)\n"
        "x: int = s.now()\n"
    )
    stdout, _, status = api.run(["--strict", "--no-incremental", "--cache-dir=/dev/null", str(bad)])
    assert status == 1
    assert "current_region" in stdout and "datetime" in stdout
