"""Which edits undo takes back (``undoable``) and what of an edit it takes back
(``without_run_states``); re-exported by ``flow.edits``."""

from __future__ import annotations

import dataclasses

from flowyard.runtime.flow._edits_model import Batch, Edit, SetRunState, SetServiceState, UpdateComponent

__all__ = ["undoable", "without_run_states"]


def undoable(edit: Edit) -> bool:
    """Whether undo reverses ``edit``: run and service states are logged, not
    undone (NiFi's history lists them; undo never starts or stops anything) —
    nor is an update that changes only ``scheduled_state``; a batch is undoable
    when any part is (its inverse then holds only those, ``without_run_states``)."""
    if isinstance(edit, SetRunState | SetServiceState):
        return False
    if isinstance(edit, Batch):
        return any(undoable(e) for e in edit.edits)
    if isinstance(edit, UpdateComponent):
        return bool(edit.properties) or any(k != "scheduled_state" for k in edit.changes)
    return True


def without_run_states(edit: Edit) -> Edit:
    """``edit`` less its changes of run state: what undo takes back (its inverse
    leaves run states as they are)."""
    if isinstance(edit, Batch):
        return Batch(tuple(without_run_states(e) for e in edit.edits if undoable(e)), edit.description)
    if isinstance(edit, UpdateComponent) and "scheduled_state" in edit.changes:
        return dataclasses.replace(edit, changes={k: v for k, v in edit.changes.items() if k != "scheduled_state"},
                                   expect={k: v for k, v in edit.expect.items() if k != "scheduled_state"})
    return edit
