"""Imports every function family so the registry is complete (import order = registration order)."""

# ruff: noqa: F401
from flowyard.runtime.expression import _fn_core, _fn_dates, _fn_encode, _fn_json, _fn_math, _fn_strings
