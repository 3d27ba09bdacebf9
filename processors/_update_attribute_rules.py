"""UpdateAttribute's Advanced rules: their model and their two text forms. Pure.

A rule has a name, conditions (boolean expressions that must all be true) and
actions (attribute = value, the value being Expression Language text). The
rules of a processor, in order, with the FlowFile Policy form its *criteria*.

flowyard stores the criteria in the processor's ``Advanced Rules`` property as
JSON::

    {"flowFilePolicy": "USE_CLONE",
     "rules": [{"name": "large",
                "conditions": ["${fileSize:toNumber():gt(1000)}"],
                "actions": [{"attribute": "size.class", "value": "large"}]}]}

NiFi stores them as the processor's ``annotationData``, an XML ``<criteria>``
document (CriteriaSerDe's form: ``<flowFilePolicy>``, then one ``<rules>`` per
rule with ``<actions>`` (attribute, id, value), ``<conditions>`` (expression,
id), ``<id>`` and ``<name>``). That text is accepted in the property as it is,
so the annotation data of a NiFi flow can be pasted or carried over unchanged;
``to_json`` writes flowyard's form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lxml import etree

__all__ = ["USE_CLONE", "USE_ORIGINAL", "Criteria", "Rule", "parse_criteria", "problems", "to_json"]

USE_CLONE = "USE_CLONE"
"""Each matching rule gets its own FlowFile: the first the original, the others clones."""
USE_ORIGINAL = "USE_ORIGINAL"
"""Every matching rule is applied to the original FlowFile, in order (a later rule wins)."""
POLICIES = (USE_CLONE, USE_ORIGINAL)

_MAX_RULES = 1000
# No entities, no DTD loading, no network: the text comes from a flow definition.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: all ``conditions`` true → ``actions`` (attribute, value) apply."""

    name: str
    conditions: tuple[str, ...]
    actions: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Criteria:
    """The rules, in order, and the FlowFile Policy."""

    policy: str
    rules: tuple[Rule, ...]


def parse_criteria(text: str) -> Criteria:
    """The criteria in ``text``: flowyard's JSON, or NiFi's ``<criteria>`` XML.

    Blank text means no rules. Raises ``ValueError`` naming what is wrong with
    the structure (expressions are checked by the caller).
    """
    stripped = text.strip()
    if not stripped:
        return Criteria(USE_CLONE, ())
    if stripped.startswith("<"):
        return _from_xml(stripped)
    try:
        raw = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the rules are neither JSON nor NiFi's <criteria> XML: {exc.msg} at position {exc.pos}") \
            from None
    return _from_json(raw)


def _from_json(raw: Any) -> Criteria:
    if not isinstance(raw, dict):
        raise ValueError("the rules must be a JSON object with 'flowFilePolicy' and 'rules'")
    policy = raw.get("flowFilePolicy", USE_CLONE)
    if policy not in POLICIES:
        raise ValueError(f"flowFilePolicy must be {USE_CLONE} or {USE_ORIGINAL}, not {policy!r}")
    items = raw.get("rules", [])
    if not isinstance(items, list):
        raise ValueError("'rules' must be a list")
    if len(items) > _MAX_RULES:
        raise ValueError(f"at most {_MAX_RULES} rules")
    rules = []
    for i, item in enumerate(items):
        where = f"rule {i + 1}"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be an object with 'name', 'conditions' and 'actions'")
        name = item.get("name", "")
        if not isinstance(name, str):
            raise ValueError(f"{where}: 'name' must be text")
        conditions = item.get("conditions", [])
        if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
            raise ValueError(f"{where}: 'conditions' must be a list of expressions")
        actions = item.get("actions", [])
        if isinstance(actions, dict):
            pairs = list(actions.items())
        elif isinstance(actions, list):
            pairs = []
            for action in actions:
                if not isinstance(action, dict):
                    raise ValueError(f"{where}: each action must be an object with 'attribute' and 'value'")
                pairs.append((action.get("attribute"), action.get("value")))
        else:
            raise ValueError(f"{where}: 'actions' must be a list of {{'attribute', 'value'}} objects")
        for attribute, value in pairs:
            if not isinstance(attribute, str) or not isinstance(value, str):
                raise ValueError(f"{where}: an action needs a text 'attribute' and a text 'value'")
        rules.append(Rule(name, tuple(conditions), tuple(pairs)))
    return Criteria(policy, tuple(rules))


def _text(element: Any, tag: str) -> str | None:
    child = element.find(tag)
    if child is None:
        return None
    return child.text or ""


def _from_xml(text: str) -> Criteria:
    try:
        root = etree.fromstring(text.encode("utf-8"), _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"the <criteria> XML is not well formed: {exc}") from None
    if root.tag != "criteria":
        raise ValueError(f"expected NiFi's <criteria> document, found <{root.tag}>")
    policy = _text(root, "flowFilePolicy") or USE_CLONE
    if policy not in POLICIES:
        raise ValueError(f"flowFilePolicy must be {USE_CLONE} or {USE_ORIGINAL}, not {policy!r}")
    elements = root.findall("rules")
    if len(elements) > _MAX_RULES:
        raise ValueError(f"at most {_MAX_RULES} rules")
    rules = []
    for element in elements:
        conditions = tuple(_text(c, "expression") or "" for c in element.findall("conditions"))
        actions = tuple((_text(a, "attribute") or "", _text(a, "value") or "") for a in element.findall("actions"))
        rules.append(Rule(_text(element, "name") or "", conditions, actions))
    return Criteria(policy, tuple(rules))


def to_json(criteria: Criteria) -> str:
    """flowyard's JSON form of ``criteria`` (what the canvas writes)."""
    return json.dumps({
        "flowFilePolicy": criteria.policy,
        "rules": [
            {"name": r.name, "conditions": list(r.conditions),
             "actions": [{"attribute": a, "value": v} for a, v in r.actions]}
            for r in criteria.rules
        ],
    })


def problems(criteria: Criteria) -> list[str]:
    """What NiFi's customValidate reports about the rules' structure (expressions aside)."""
    found = []
    for rule in criteria.rules:
        if not rule.name.strip():
            found.append("A rule name was not specified.")
        if not rule.conditions:
            found.append(f"No conditions for rule '{rule.name}' found.")
        if not rule.actions:
            found.append(f"No actions for rule '{rule.name}' found.")
        for attribute, _ in rule.actions:
            if not attribute:
                found.append(f"An action in rule '{rule.name}' is missing the attribute name.")
    return found
