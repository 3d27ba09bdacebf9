"""Undo and redo, per user, of the last edits (respecting revisions)."""

from __future__ import annotations

from typing import Any

from flowyard.runtime.sdk._errors import FlowyardError
from flowyard.runtime.service._base import RevisionConflict
from flowyard.runtime.service._components import ComponentsMixin, Edit
from flowyard.runtime.service._lookup import GROUP_FIELDS, serialized

__all__ = ["HistoryMixin"]


def _rebase(stack: list[Edit], component_id: str, revision: int) -> None:
    """After undoing (redoing) an edit, the component is exactly as the previous
    edit of it left it, at a new revision: that edit may be undone (redone) next."""
    for edit in reversed(stack):
        if edit.component_id == component_id:
            edit.revision = revision
            return


def _comparable(kind: str, doc: dict[str, Any] | None) -> dict[str, Any] | None:
    if doc is None or kind != "process-group":
        return doc
    return {k: doc.get(k) for k in GROUP_FIELDS}



class HistoryMixin(ComponentsMixin):
    """``undo`` and ``redo`` of what ``ComponentsMixin`` recorded."""

    def _unchanged_since(self, edit: Edit, state: dict[str, Any] | None, *, whole: bool = False) -> bool:
        """Whether the component is still as ``edit`` left it (``state``): the same
        revision, or — after others' undos — the same definition. ``whole``: a
        process group about to be deleted must also hold what it held then."""
        current = self.revisions.get(edit.component_id, -1)
        exists = edit.component_id in self.revisions
        if state is None or not exists:
            return state is None and not exists
        if whole and edit.kind == "process-group":
            return bool(_runless(self._raw(edit.kind, edit.component_id)) == _runless(state))
        if current == edit.revision:
            return True
        if _comparable(edit.kind, self._raw(edit.kind, edit.component_id)) == _comparable(edit.kind, state):
            edit.revision = current
            return True
        return False

    async def _apply(self, action: str, edit: Edit, doc: dict[str, Any] | None) -> int:
        """Perform one change without recording it; returns the component's new revision."""
        if action == "create":
            await self.create(edit.kind, dict(doc or {}), parent_group_id=edit.parent, check_names=False)
            return self.revisions[edit.component_id]
        if action == "delete":
            await self.delete(edit.kind, edit.component_id, edit.revision)
            return -1
        target = dict(doc or {})
        if edit.kind == "process-group":
            target = {k: target.get(k) for k in GROUP_FIELDS}
        target.pop("scheduledState", None)  # run state is not an edit: undo leaves it as it is
        if "properties" in target:  # restore exactly: properties the target lacks are unset
            props: dict[str, Any] = dict(target.get("properties") or {})
            for name in self._raw(edit.kind, edit.component_id).get("properties") or {}:
                props.setdefault(name, None)
            target["properties"] = props
        await self.update(edit.kind, edit.component_id, edit.revision, target, check_names=False)
        return self.revisions[edit.component_id]

    _INVERSE = {"create": "delete", "delete": "create", "update": "update"}

    @serialized
    async def undo(self, user: str) -> str:
        """Undo ``user``'s last edit. Raises ``RevisionConflict`` if the component
        changed since (nothing is undone then), ``FlowyardError`` if there is nothing."""
        stack = self._undo.get(user)
        if not stack:
            raise FlowyardError("there is nothing to undo")
        edit = stack[-1]
        if not self._unchanged_since(edit, edit.after, whole=edit.action == "create"):
            raise RevisionConflict(f"{edit.description} cannot be undone: the component changed since", {})
        new_revision = await self._apply(self._INVERSE[edit.action], edit, edit.before)
        stack.pop()
        _rebase(stack, edit.component_id, new_revision)
        self._redo.setdefault(user, []).append(
            Edit(edit.action, edit.kind, edit.component_id, edit.parent, edit.before, edit.after, new_revision))
        return edit.description

    @serialized
    async def redo(self, user: str) -> str:
        """Redo the edit ``user`` undid last (same rules as ``undo``)."""
        stack = self._redo.get(user)
        if not stack:
            raise FlowyardError("there is nothing to redo")
        edit = stack[-1]
        if not self._unchanged_since(edit, edit.before, whole=edit.action == "delete"):
            raise RevisionConflict(f"{edit.description} cannot be redone: the component changed since", {})
        new_revision = await self._apply(edit.action, edit, edit.after)
        stack.pop()
        _rebase(stack, edit.component_id, new_revision)
        self._undo.setdefault(user, []).append(
            Edit(edit.action, edit.kind, edit.component_id, edit.parent, edit.before, edit.after, new_revision))
        return edit.description


def _runless(doc: Any) -> Any:
    """``doc`` without run states (they change without being edits)."""
    if isinstance(doc, dict):
        return {k: _runless(v) for k, v in doc.items() if k != "scheduledState"}
    if isinstance(doc, list):
        return [_runless(v) for v in doc]
    return doc
