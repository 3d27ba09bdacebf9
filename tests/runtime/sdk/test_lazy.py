"""``lazy_names``: a package's names imported from their submodule on first use."""

from __future__ import annotations

import pytest

import flowyard.runtime.engine as engine
import flowyard.runtime.flow.edits as edits


def test_a_lazy_name_is_the_submodules_object_and_is_kept() -> None:
    from flowyard.runtime.flow._edits_model import Batch

    assert edits.Batch is Batch
    assert vars(edits)["Batch"] is Batch  # kept: the next lookup does not go through __getattr__


def test_an_unknown_name_raises_attribute_error_as_a_module_does() -> None:
    with pytest.raises(AttributeError, match=r"module .flowyard\.runtime\.engine. has no attribute .Nope."):
        _ = engine.Nope  # type: ignore[attr-defined]
    assert not hasattr(edits, "Nope")
