"""`flowyard serve`'s provenance retention options reach the engine; bad values are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowyard.bootstrap import cli, options
from flowyard.bootstrap.compose import open_service


def test_retention_options_are_parsed_with_nifi_units() -> None:
    args = cli._parser().parse_args(["serve", "--provenance-max-age", "7 days", "--provenance-max-size", "10 GB",
                                     "--provenance-max-events", "0"])
    assert options.engine_options(args) == {"provenance_max_age_ms": 7 * 86_400_000,
                                         "provenance_max_bytes": 10 << 30, "provenance_max_events": 0,
                                         "disk_pause_below": 256 << 20, "disk_resume_above": 512 << 20,
                                         "freeze_heap": True}
    defaults = options.engine_options(cli._parser().parse_args(["serve"]))
    assert defaults == {"provenance_max_age_ms": 86_400_000, "provenance_max_bytes": 1 << 30,
                        "provenance_max_events": 1_000_000,
                        "disk_pause_below": 256 << 20, "disk_resume_above": 512 << 20, "freeze_heap": True}


@pytest.mark.parametrize(("option", "value"), [("--provenance-max-age", "soon"), ("--provenance-max-size", "big"),
                                               ("--provenance-max-events", "-1")])
def test_bad_retention_values_are_usage_errors(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli._parser().parse_args(["serve", option, value])
    assert exit_info.value.code == 2
    assert option in capsys.readouterr().err


def test_the_service_hands_them_to_the_engine(tmp_path: Path) -> None:
    service = open_service(tmp_path, engine_options={"provenance_max_age_ms": 1000, "provenance_max_bytes": 5})
    try:
        assert (service.engine.provenance_max_age_ms, service.engine.provenance_max_bytes) == (1000, 5)
    finally:
        service.close()
