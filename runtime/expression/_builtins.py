"""Imports every function family so the registry is complete (import order = registration order)."""

# ruff: noqa: F401
from flowyard.runtime.expression import _fn_core
