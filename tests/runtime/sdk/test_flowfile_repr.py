"""A flowfile's repr names it without its attributes (they reach logs and bulletins)."""

from __future__ import annotations

from flowyard.runtime.sdk._flowfile import make_flowfile


def test_repr_names_the_flowfile_and_keeps_attribute_values_out() -> None:
    ff = make_flowfile(7, {"uuid": "u-1", "filename": "f" * 500, "secret": "s3cr3t" * 10_000}, None, 12, 0, 0)
    text = repr(ff)
    assert text.startswith("FlowFile(id=7, uuid='u-1', filename='" + "f" * 100 + "…'")
    assert "s3cr3t" not in text and len(text) < 300
