"""Property specs, resolving configured names onto keys, NiFi's validation rules,
and PropertyValue's conversions. Sensitive values must never appear in any text."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationError,
    DynamicPropertySpec,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    PropertyValue,
    PropertyValueError,
    UnknownPropertyError,
    ValidationResult,
    resolve_properties,
    validate_properties,
)
from flowyard.runtime.sdk.validators import POSITIVE_INTEGER, TIME_PERIOD

SECRET = "hunter2-secret"
FLOWFILE = ExpressionScope.FLOWFILE_ATTRIBUTES

# -- PropertySpec construction --------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "display_name", "message"),
    [
        ("", "Name", "property key '' must be non-empty without surrounding whitespace"),
        (" key", "Name", "property key ' key' must be non-empty without surrounding whitespace"),
        ("key", "", "property display_name '' must be non-empty without surrounding whitespace"),
        ("key", "Name\n", "property display_name 'Name\\n' must be non-empty without surrounding whitespace"),
    ],
)
def test_spec_refuses_blank_or_padded_names(key: str, display_name: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        PropertySpec(key, display_name)
    assert str(info.value) == message


def test_spec_default_must_be_an_allowed_value() -> None:
    with pytest.raises(ValueError) as info:
        PropertySpec("mode", "Mode", default="Fast", allowed_values=[AllowableValue("fast", "Fast")])
    assert str(info.value) == "property 'mode': default 'Fast' is not one of its allowed values"


def test_spec_stores_sequences_as_tuples_and_describes_itself() -> None:
    spec = PropertySpec(
        "mode", "Mode", description="How.", required=True, default="fast",
        allowed_values=[AllowableValue("fast", "Fast", "Quick."), AllowableValue("safe")],
        validator=POSITIVE_INTEGER, expression_scope=ExpressionScope.ENVIRONMENT, sensitive=True,
        dependencies=[PropertyDependency("other", ["x"])], aliases=["Old Mode"],
    )
    assert spec.allowed_values == (AllowableValue("fast", "Fast", "Quick."), AllowableValue("safe", "safe"))
    assert spec.dependencies == (PropertyDependency("other", ("x",)),)
    assert spec.aliases == ("Old Mode",)
    assert hash(spec) == hash(spec)  # frozen records, usable in sets
    assert spec.to_dict() == {
        "key": "mode", "display_name": "Mode", "description": "How.", "required": True, "default": "fast",
        "allowed_values": [
            {"value": "fast", "display_name": "Fast", "description": "Quick."},
            {"value": "safe", "display_name": "safe", "description": ""},
        ],
        "validator": {"name": "positive integer", "description": "a whole number >= 1"},
        "expression_scope": "ENVIRONMENT", "sensitive": True,
        "dependencies": [{"key": "other", "values": ["x"]}], "aliases": ["Old Mode"],
    }
    assert PropertySpec("k", "K").to_dict()["validator"] is None


def test_dynamic_spec_describes_itself() -> None:
    assert DynamicPropertySpec("An attribute", "Its value", FLOWFILE, TIME_PERIOD).to_dict() == {
        "name_description": "An attribute", "value_description": "Its value",
        "expression_scope": "FLOWFILE_ATTRIBUTES",
        "validator": {"name": "time period", "description": TIME_PERIOD.description}, "sensitive": False,
    }


# -- resolve_properties ---------------------------------------------------------------

ALPHA = PropertySpec("alpha", "Alpha", default="a-default", aliases=("Old Alpha", "older-alpha"))
BETA = PropertySpec("beta", "Beta")
SPECS = (ALPHA, BETA)


@pytest.mark.parametrize(
    ("configured", "alpha"),
    [
        ({}, "a-default"),
        ({"alpha": None}, "a-default"),
        ({"alpha": "k"}, "k"),
        ({"Alpha": "d"}, "d"),
        ({"Old Alpha": "o"}, "o"),
        ({"older-alpha": "o2"}, "o2"),
        # the most specific name wins, whatever the order in the flow
        ({"Old Alpha": "o", "Alpha": "d", "alpha": "k"}, "k"),
        ({"alpha": "k", "Alpha": "d", "Old Alpha": "o"}, "k"),
        ({"Alpha": "d", "Old Alpha": "o"}, "d"),
        ({"Old Alpha": "o", "Alpha": "d"}, "d"),
        # an unset value under a better name does not hide a set one
        ({"alpha": None, "Old Alpha": "o"}, "o"),
    ],
)
def test_resolve_maps_every_name_onto_the_key(configured: dict[str, str | None], alpha: str) -> None:
    static, dynamic = resolve_properties(SPECS, configured, None)
    assert static == {"alpha": alpha, "beta": None}
    assert list(static) == ["alpha", "beta"]
    assert dynamic == {}


def test_resolve_a_key_beats_a_display_name_beats_an_alias_across_specs() -> None:
    # listed so that spec order would give the opposite answer
    by_alias = PropertySpec("one", "One", aliases=("shared-label",))
    by_display = PropertySpec("two", "shared-label")
    by_display_of_key = PropertySpec("three", "three-key")
    by_key = PropertySpec("three-key", "Four")
    specs = (by_alias, by_display, by_display_of_key, by_key)
    static, _ = resolve_properties(specs, {"shared-label": "x", "three-key": "y"}, None)
    assert static == {"one": None, "two": "x", "three": None, "three-key": "y"}


def test_resolve_sets_dynamic_properties_aside() -> None:
    static, dynamic = resolve_properties(
        SPECS, {"Beta": "b", "my.attr": "v", "unset.attr": None, "alphA": "case matters"}, DynamicPropertySpec("n", "v")
    )
    assert static == {"alpha": "a-default", "beta": "b"}
    assert dynamic == {"my.attr": "v", "alphA": "case matters"}


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (SPECS, "unknown property 'Gamma'; valid properties are: 'Alpha', 'Beta'"),
        ((), "unknown property 'Gamma'; valid properties are: none"),
    ],
)
def test_resolve_refuses_unknown_names_without_dynamic_properties(
    specs: tuple[PropertySpec, ...], message: str
) -> None:
    with pytest.raises(UnknownPropertyError) as info:
        resolve_properties(specs, {"Gamma": None, "Delta": "d"}, None)
    assert str(info.value) == message
    assert info.value.name == "Gamma"
    assert info.value.known_names == tuple(s.display_name for s in specs)
    assert isinstance(info.value, ConfigurationError)


# -- validate_properties --------------------------------------------------------------

MODE = PropertySpec(
    "mode", "Mode", default="fast", allowed_values=(AllowableValue("fast", "Fast Mode"), AllowableValue("safe", "Safe"))
)
COUNT = PropertySpec("count", "Count", required=True, validator=POSITIVE_INTEGER, expression_scope=FLOWFILE)


def explain(
    specs: tuple[PropertySpec, ...],
    static: Mapping[str, str | None],
    dynamic_values: Mapping[str, str] | None = None,
    dynamic: DynamicPropertySpec | None = None,
    *,
    expression_enabled: bool = False,
) -> list[str]:
    results = validate_properties(
        specs, static, dynamic_values or {}, dynamic, expression_enabled=expression_enabled
    )
    return [str(r) for r in results]


@pytest.mark.parametrize(
    ("static", "expected"),
    [
        ({"mode": "fast", "count": "3"}, []),
        ({"count": "3"}, []),  # a missing key means the default
        ({"mode": "safe", "count": None}, ["'Count' is invalid because Count is required"]),
        ({"mode": "Safe", "count": "3"},
         ["'Mode' is invalid because 'Safe' is not one of the allowed values: 'Fast Mode', 'Safe'"]),
        ({"mode": "fast", "count": "0"},
         ["'Count' is invalid because '0' is not a positive integer: expected a whole number >= 1"]),
        ({"mode": "slow", "count": "x"},
         ["'Mode' is invalid because 'slow' is not one of the allowed values: 'Fast Mode', 'Safe'",
          "'Count' is invalid because 'x' is not a positive integer: expected a whole number such as '10'"]),
    ],
)
def test_validate_required_allowed_values_and_validator(static: dict[str, str | None], expected: list[str]) -> None:
    assert explain((MODE, COUNT), static) == expected


def test_validate_results_carry_subject_and_key() -> None:
    assert validate_properties((MODE, COUNT), {"count": None}, {}, None) == [
        ValidationResult("Count", "Count is required", "count")
    ]


# "Detail" matters only in safe mode; "Extra" only when Detail has any value.
DETAIL = PropertySpec("detail", "Detail", required=True, dependencies=(PropertyDependency("mode", ("safe",)),))
EXTRA = PropertySpec("extra", "Extra", required=True, dependencies=(PropertyDependency("detail"),))


@pytest.mark.parametrize(
    ("static", "expected"),
    [
        ({}, []),  # mode defaults to fast: Detail and Extra are not relevant
        ({"mode": "fast", "detail": None, "extra": None}, []),
        ({"mode": "safe"}, ["'Detail' is invalid because Detail is required"]),
        ({"mode": "safe", "detail": "d"}, ["'Extra' is invalid because Extra is required"]),
        ({"mode": "safe", "detail": "d", "extra": "e"}, []),
        # Extra's own dependency holds, but Detail's does not: the chain decides
        ({"mode": "fast", "detail": "d", "extra": None}, []),
    ],
)
def test_validate_skips_properties_whose_dependencies_do_not_hold(
    static: dict[str, str | None], expected: list[str]
) -> None:
    assert explain((MODE, DETAIL, EXTRA), static) == expected


def checked(key: str, *depends_on: str) -> PropertySpec:
    """A spec whose value 'bad' is reported whenever it is validated at all."""
    return PropertySpec(
        key, key.upper(), validator=POSITIVE_INTEGER, dependencies=tuple(PropertyDependency(d) for d in depends_on)
    )


@pytest.mark.parametrize(
    "specs",
    [
        (checked("a", "nowhere"),),
        (checked("a", "a"),),
        (checked("a", "b"), checked("b", "a"), checked("c", "a")),
    ],
)
def test_dependencies_on_unknown_keys_or_cycles_never_hold(specs: tuple[PropertySpec, ...]) -> None:
    assert explain(specs, dict.fromkeys((s.key for s in specs), "bad")) == []
    assert explain((checked("a"),), {"a": "bad"}) != []  # the same value is reported without dependencies


PASSWORD = PropertySpec("password", "Password", sensitive=True, validator=POSITIVE_INTEGER)
LEVEL = PropertySpec(
    "level", "Level", sensitive=True, allowed_values=(AllowableValue("low"), AllowableValue("high", "High!"))
)


def test_validate_never_quotes_sensitive_values() -> None:
    texts = explain((PASSWORD, LEVEL), {"password": SECRET, "level": SECRET})
    assert texts == [
        "'Password' is invalid because the sensitive value is not a valid positive integer: "
        "expected a whole number >= 1",
        "'Level' is invalid because the sensitive value is not one of the allowed values: 'low', 'High!'",
    ]
    assert not any(SECRET in t for t in texts)


@pytest.mark.parametrize(
    ("expression_enabled", "spec", "expected"),
    [
        (True, COUNT, []),
        (True, PropertySpec("count", "Count", allowed_values=(AllowableValue("a"),), expression_scope=FLOWFILE), []),
        (False, COUNT, ["'Count' is invalid because '${n}' is not a positive integer: expected a whole number "
                        "such as '10'"]),
        (True, PropertySpec("count", "Count", validator=POSITIVE_INTEGER),  # scope NONE: ${ is literal text
         ["'Count' is invalid because '${n}' is not a positive integer: expected a whole number such as '10'"]),
    ],
)
def test_validate_defers_expressions_to_evaluation(
    expression_enabled: bool, spec: PropertySpec, expected: list[str]
) -> None:
    assert explain((spec,), {"count": "${n}"}, expression_enabled=expression_enabled) == expected


@pytest.mark.parametrize(
    ("dynamic", "expression_enabled", "expected"),
    [
        (None, False, ["'a.name' is invalid because 'a.name' is not a supported property",
                       "'b.name' is invalid because 'b.name' is not a supported property",
                       "'expr' is invalid because 'expr' is not a supported property"]),
        (DynamicPropertySpec("n", "v"), False, []),
        (DynamicPropertySpec("n", "v", FLOWFILE, TIME_PERIOD), True,
         ["'b.name' is invalid because 'later' is not a valid time period: expected a non-negative number "
          "followed by a unit, such as '30 sec'"]),
        (DynamicPropertySpec("n", "v", ExpressionScope.NONE, TIME_PERIOD), True,
         ["'b.name' is invalid because 'later' is not a valid time period: expected a non-negative number "
          "followed by a unit, such as '30 sec'",
          "'expr' is invalid because '${t}' is not a valid time period: expected a non-negative number "
          "followed by a unit, such as '30 sec'"]),
    ],
)
def test_validate_dynamic_properties_in_name_order(
    dynamic: DynamicPropertySpec | None, expression_enabled: bool, expected: list[str]
) -> None:
    values = {"expr": "${t}", "b.name": "later", "a.name": "5 sec"}
    assert explain((), {}, values, dynamic, expression_enabled=expression_enabled) == expected


def test_validate_refuses_a_blank_dynamic_name() -> None:
    results = validate_properties((), {}, {" ": "v"}, DynamicPropertySpec("n", "v"))
    assert results == [ValidationResult(" ", "a dynamic property name must not be blank", " ")]


# -- PropertyValue ----------------------------------------------------------------------

PLAIN = PropertySpec("plain", "Plain")


@pytest.mark.parametrize(
    ("raw", "method", "expected"),
    [
        (" 42 ", "as_int", 42),
        ("-7", "as_int", -7),
        (" 2.5 ", "as_float", 2.5),
        ("1e-3", "as_float", 0.001),
        (" TRUE ", "as_bool", True),
        ("false", "as_bool", False),
        (" 2 min ", "as_duration", 120.0),
        ("1.5 KB", "as_data_size", 1536),
        (" padded ", "as_str", " padded "),
    ],
)
def test_conversions(raw: str, method: str, expected: object) -> None:
    value = getattr(PropertyValue(raw, PLAIN), method)()
    assert value == expected
    assert type(value) is type(expected)


def test_as_regex_compiles_the_text_unstripped() -> None:
    pattern = PropertyValue(" a+", PLAIN).as_regex()
    assert pattern.fullmatch(" aa") and not pattern.fullmatch("aa")


def test_as_regex_reads_java_syntax() -> None:
    """NiFi's regex properties are java.util.regex patterns: Java's named groups,
    \\p{Alpha}, and '.' not matching a carriage return."""
    pattern = PropertyValue(r"(?<word>\p{Alpha}+).", PLAIN).as_regex()
    match = pattern.fullmatch("abc!")
    assert match is not None and match.group("word") == "abc"
    assert pattern.fullmatch("abc\r") is None
    with pytest.raises(PropertyValueError, match="not a valid regular expression"):
        PropertyValue(r"[a-z&&[^b]]", PLAIN).as_regex()  # class intersection: refused, not misread


@pytest.mark.parametrize(
    ("raw", "method", "explanation"),
    [
        (None, "as_str", "it has no value"),
        (None, "as_int", "it has no value"),
        ("4.5", "as_int", "'4.5' is not an integer"),
        ("nan", "as_float", "'nan' is not a number"),
        ("yes", "as_bool", "'yes' is not 'true' or 'false'"),
        ("soon", "as_duration",
         "'soon' is not a valid time period: expected a non-negative number followed by a unit, such as '30 sec'"),
        ("lots", "as_data_size",
         "'lots' is not a valid data size: expected a non-negative number followed by a unit, such as '10 MB'"),
        ("(", "as_regex", "'(' is not a valid regular expression: Unclosed group at position 1"),
    ],
)
def test_conversion_errors_name_the_property_and_the_value(raw: str | None, method: str, explanation: str) -> None:
    with pytest.raises(PropertyValueError) as info:
        getattr(PropertyValue(raw, PLAIN), method)()
    assert str(info.value) == f"'Plain' is invalid because {explanation}"
    assert (info.value.property_name, info.value.value) == ("Plain", raw)
    assert isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (PropertyValue("x", None, name="my.attr"), "my.attr"),
        (PropertyValue("x", PLAIN, name="override"), "override"),
        (PropertyValue("x"), "property"),
    ],
)
def test_errors_label_values_without_a_spec(value: PropertyValue, label: str) -> None:
    with pytest.raises(PropertyValueError, match=f"^'{label}' is invalid because 'x' is not an integer$"):
        value.as_int()


@pytest.mark.parametrize(
    ("method", "explanation"),
    [
        ("as_int", "the sensitive value is not an integer"),
        ("as_float", "the sensitive value is not a number"),
        ("as_bool", "the sensitive value is not 'true' or 'false'"),
        ("as_duration", "the sensitive value is not a valid time period"),
        ("as_data_size", "the sensitive value is not a valid data size"),
        ("as_regex", "the sensitive value is not a valid regular expression"),
    ],
)
def test_sensitive_values_are_never_echoed(method: str, explanation: str) -> None:
    value = PropertyValue(SECRET + "(", PropertySpec("pw", "Password", sensitive=True))
    with pytest.raises(PropertyValueError) as info:
        getattr(value, method)()
    assert str(info.value) == f"'Password' is invalid because {explanation}"
    assert SECRET not in repr(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (PropertyValue("x", PLAIN), "PropertyValue('x', key='plain')"),
        (PropertyValue(None, PLAIN), "PropertyValue(None, key='plain')"),
        (PropertyValue("x", name="dyn"), "PropertyValue('x')"),
        (PropertyValue(SECRET, PropertySpec("pw", "Password", sensitive=True)), "PropertyValue(********, key='pw')"),
        (PropertyValue(None, PropertySpec("pw", "Password", sensitive=True)), "PropertyValue(None, key='pw')"),
    ],
)
def test_repr(value: PropertyValue, text: str) -> None:
    assert repr(value) == text


def test_accessors() -> None:
    assert (PropertyValue("x", PLAIN).raw, PropertyValue("x", PLAIN).value) == ("x", "x")
    assert PropertyValue("", PLAIN).is_set
    assert not PropertyValue(None, PLAIN).is_set
    assert PropertyValue(None, PLAIN).spec is PLAIN


def test_evaluate_runs_the_evaluator_once() -> None:
    calls: list[tuple[str, Mapping[str, str] | None]] = []

    def evaluator(text: str, attributes: Mapping[str, str] | None) -> str:
        calls.append((text, attributes))
        return text.replace("${n}", (attributes or {}).get("n", "")) + "${n}"

    value = PropertyValue("v=${n}", PLAIN, evaluator=evaluator, name="label")
    evaluated = value.evaluate({"n": "1"})
    assert evaluated.raw == "v=1${n}"
    assert evaluated.evaluate({"n": "2"}) is evaluated  # the result is never evaluated twice
    assert evaluated.spec is PLAIN
    with pytest.raises(PropertyValueError, match=r"^'label' is invalid"):
        evaluated.as_int()
    assert value.evaluate(None).raw == "v=${n}"
    assert calls == [("v=${n}", {"n": "1"}), ("v=${n}", None)]


@pytest.mark.parametrize(
    "value", [PropertyValue("${n}", PLAIN), PropertyValue(None, PLAIN, evaluator=lambda text, attributes: "x")]
)
def test_evaluate_without_evaluator_or_value_is_the_same_value(value: PropertyValue) -> None:
    assert value.evaluate({"n": "1"}) is value


@pytest.mark.parametrize(("raw", "literal"), [("abc", True), ("", True), ("${a}", False), ("#{p}", False),
                                              ("$$", False), (None, False)])
def test_is_literal_says_whether_the_value_evaluates_to_itself(raw: str | None, literal: bool) -> None:
    assert PropertyValue(raw, PLAIN).is_literal is literal
