"""Command-line option types and option groups shared by the ``flowyard`` commands,
and the engine options they amount to (``engine_options``: what ``serve`` hands
to the engine; ``process_options``: what ``run`` and ``demo`` do)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from flowyard.runtime.engine import DEFAULT_PAUSE_BELOW, DEFAULT_RESUME_ABOVE
from flowyard.runtime.sdk import ConfigurationError, format_data_size, parse_data_size, parse_duration
from flowyard.runtime.shutdown import DEFAULT_GRACE_SECONDS

__all__ = [
    "DURABILITY_HELP",
    "add_disk_options",
    "add_retention_options",
    "add_stop_timeout_option",
    "age_ms",
    "count",
    "data_size",
    "disk_options",
    "engine_options",
    "json_object_file",
    "port",
    "process_options",
    "seconds",
]


def port(text: str) -> int:
    """A TCP port number, 0 to 65535 (0: any free one)."""
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port number from 0 to 65535, found {text!r}")
    return number


DURABILITY_HELP = ("os (default): a committed flowfile survives kill -9; "
                   "sync: fsync per commit group, also survives power loss")


def age_ms(text: str) -> int:
    """A duration in NiFi's units ('7 days') as milliseconds."""
    try:
        return int(parse_duration(text) * 1000)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def data_size(text: str) -> int:
    """A data size in NiFi's units ('10 GB') as bytes."""
    try:
        return parse_data_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def count(text: str) -> int:
    """A whole number, 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}")
    return int(text)


def add_retention_options(parser: argparse.ArgumentParser) -> None:
    """NiFi's provenance retention settings (0 disables a limit)."""
    parser.add_argument("--provenance-max-age", type=age_ms, default=24 * 3600 * 1000, metavar="DURATION",
                        help="keep provenance events this long, e.g. '7 days' (default: 24 hours; 0: no limit)")
    parser.add_argument("--provenance-max-size", type=data_size, default=1 << 30, metavar="SIZE",
                        help="keep at most this much provenance, e.g. '10 GB' (default: 1 GB; 0: no limit)")
    parser.add_argument("--provenance-max-events", type=count, default=1_000_000, metavar="N",
                        help="keep at most this many provenance events (default: 1000000; 0: no limit)")


def seconds(text: str) -> float:
    """A duration from 1 second to 1 hour, in seconds."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"expected from 1 sec to 1 hour, found {text!r}")
    return value


def add_stop_timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stop-timeout", type=seconds, default=DEFAULT_GRACE_SECONDS, metavar="DURATION",
                        help="after SIGINT/SIGTERM, exit anyway (status 3) if the clean stop takes longer than "
                             f"this, e.g. '30 sec' (default: {DEFAULT_GRACE_SECONDS:g} sec)")


def add_disk_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--disk-pause-below", type=data_size, default=DEFAULT_PAUSE_BELOW, metavar="SIZE",
                        help="pause processing while the repository's disk has less free than this, e.g. "
                             f"'1 GB' (default: {format_data_size(DEFAULT_PAUSE_BELOW)})")
    parser.add_argument("--disk-resume-above", type=data_size, default=DEFAULT_RESUME_ABOVE, metavar="SIZE",
                        help="resume once this much is free again (default: "
                             f"{format_data_size(DEFAULT_RESUME_ABOVE)})")


def disk_options(args: argparse.Namespace) -> dict[str, int]:
    """The disk guard's thresholds; ``ConfigurationError`` when resume is below pause."""
    if args.disk_resume_above < args.disk_pause_below:
        raise ConfigurationError(f"--disk-resume-above ({format_data_size(args.disk_resume_above)}) must not be "
                                 f"below --disk-pause-below ({format_data_size(args.disk_pause_below)})")
    return {"disk_pause_below": args.disk_pause_below, "disk_resume_above": args.disk_resume_above}


def process_options(args: argparse.Namespace) -> dict[str, int | bool]:
    """Engine options of a process that runs one engine for its lifetime (run, serve, demo)."""
    return {**disk_options(args), "freeze_heap": True}


def engine_options(args: argparse.Namespace) -> dict[str, int | bool]:
    """Engine options of ``serve``: ``process_options`` and the provenance retention limits."""
    return {"provenance_max_age_ms": args.provenance_max_age, "provenance_max_bytes": args.provenance_max_size,
            "provenance_max_events": args.provenance_max_events, **process_options(args)}


def json_object_file(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``; ``ConfigurationError`` naming ``what`` and the
    file when it cannot be read or holds something else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the {what} file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"the {what} file {path} must hold a JSON object")
    return data
