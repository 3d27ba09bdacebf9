"""Controller services in the SDK and the framework: specs, service properties,
the configuration context, a service node's lifecycle, the registry and its
scoped views, and processors validated against them."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from flowyard.runtime import expression
from flowyard.runtime.engine._component import ConfiguredProcessor
from flowyard.runtime.engine._service_node import (
    DISABLED,
    ENABLED,
    ConfiguredControllerService,
    ControllerServiceRegistry,
)
from flowyard.runtime.sdk import (
    ConfigurationContext,
    ConfigurationError,
    ControllerService,
    ControllerServiceSpec,
    DynamicPropertySpec,
    ExpressionScope,
    FlowyardError,
    InvalidComponentError,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    PropertyValue,
    PropertyValueError,
    Relationship,
    UnknownPropertyError,
    ValidationResult,
    validate_service_references,
    validators,
)

FLOWFILE = ExpressionScope.FLOWFILE_ATTRIBUTES

# -- a tiny API, two services and a processor that uses them ---------------------------


class Greeter:
    """The 'Greeter' API."""

    def greet(self, name: str) -> str:
        raise NotImplementedError


GREETING = PropertySpec("greeting", "Greeting", required=True, default="Hello",
                        expression_scope=ExpressionScope.ENVIRONMENT)
PUNCTUATION = PropertySpec("punctuation", "Punctuation", validator=validators.NON_EMPTY)


class GreeterService(ControllerService, Greeter):
    """Greets with a configured word."""

    spec = ControllerServiceSpec(
        "Greets.", provides=("Greeter",), tags=("test",), properties=(GREETING, PUNCTUATION),
        dynamic_properties=DynamicPropertySpec("Anything", "Anything", ExpressionScope.ENVIRONMENT),
    )

    def __init__(self) -> None:
        self.greeting: str | None = None
        self.enabled_count = 0
        self.disabled_count = 0
        self.extra: dict[str, str] = {}

    def on_enabled(self, context: ConfigurationContext) -> None:
        self.greeting = context.property(GREETING).evaluate().as_str()
        self.extra = {k: v.evaluate({"ignored": "x"}).as_str() for k, v in context.dynamic_properties.items()}
        self.enabled_count += 1

    def on_disabled(self) -> None:
        self.greeting = None
        self.disabled_count += 1

    def greet(self, name: str) -> str:
        return f"{self.greeting}, {name}"


class OtherService(ControllerService):
    """Provides something else."""

    spec = ControllerServiceSpec("Other.", provides=("Other",))


UPSTREAM = PropertySpec("upstream", "Upstream Greeter", identifies_controller_service="Greeter")


class LoudGreeter(ControllerService, Greeter):
    """A service that uses another service: it shouts what the upstream greeter says."""

    spec = ControllerServiceSpec("Loud.", provides=("Greeter",), properties=(
        PropertySpec("upstream", "Upstream Greeter", required=True, identifies_controller_service="Greeter"),))

    def on_enabled(self, context: ConfigurationContext) -> None:
        self.upstream = context.property("upstream").as_controller_service(Greeter)

    def greet(self, name: str) -> str:
        return self.upstream.greet(name).upper()


class FailingService(ControllerService):
    """Refuses to be enabled, or to be disabled quietly."""

    spec = ControllerServiceSpec("Fails.", provides=("Greeter",))

    def on_enabled(self, context: ConfigurationContext) -> None:
        raise OSError("cannot reach the backend")

    def on_disabled(self) -> None:
        raise RuntimeError("cleanup failed")


MODE = PropertySpec("mode", "Mode", default="plain")
GREETER = PropertySpec("greeter-service", "Greeter Service", required=True, identifies_controller_service="Greeter",
                       dependencies=(PropertyDependency("mode", ("greeted",)),))


class Greet(Processor):
    """Uses a Greeter when Mode is 'greeted'."""

    spec = ProcessorSpec("Greets.", properties=(MODE, GREETER), relationships=(Relationship("success"),))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        raise NotImplementedError


def registry_with(*nodes: ConfiguredControllerService) -> ControllerServiceRegistry:
    registry = ControllerServiceRegistry()
    for node in nodes:
        registry.add(node)
    return registry


def greeter(service_id: str = "g1", properties: dict[str, str | None] | None = None,
            registry: ControllerServiceRegistry | None = None, **kwargs: object) -> ConfiguredControllerService:
    return ConfiguredControllerService(GreeterService, component_id=service_id, name="Hi",
                                       properties=properties, services=registry, **kwargs)  # type: ignore[arg-type]


# -- specs -----------------------------------------------------------------------------


def test_service_spec_describes_itself_and_stores_tuples() -> None:
    spec = ControllerServiceSpec("D.", provides=["A", "B"], tags=["t"], properties=[GREETING])  # type: ignore[arg-type]
    assert spec.provides == ("A", "B") and spec.properties == (GREETING,)
    assert spec.property("greeting") is GREETING
    assert spec.to_dict() == {
        "description": "D.", "provides": ["A", "B"], "tags": ["t"], "properties": [GREETING.to_dict()],
        "dynamic_properties": None,
    }
    with pytest.raises(KeyError, match="no property 'nope'; known: greeting"):
        spec.property("nope")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"provides": ()}, "a controller service must provide at least one API"),
        ({"provides": ("Look up",)}, "provides: API name 'Look up' must be non-empty without whitespace"),
        ({"provides": ("A",), "properties": (GREETING, GREETING)}, "duplicate property keys"),
        ({"provides": ("A",), "dynamic_properties": DynamicPropertySpec("n", "v", FLOWFILE)},
         "property '(dynamic properties)': a controller service has no flowfile"),
    ],
)
def test_service_spec_refuses_what_cannot_work(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ControllerServiceSpec("D.", **kwargs)  # type: ignore[arg-type]


def test_service_hooks_must_not_be_async() -> None:
    with pytest.raises(TypeError, match=r"Bad.on_enabled must be a plain method, not async def"):
        class Bad(ControllerService):
            spec = ControllerServiceSpec("B.", provides=("A",))

            async def on_enabled(self, context: ConfigurationContext) -> None:  # type: ignore[override]
                return None


def test_type_name_defaults_to_the_class_name() -> None:
    assert GreeterService.type_name == "GreeterService"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"identifies_controller_service": ""}, "controller service API '' must be non-empty"),
        ({"identifies_controller_service": "A B"}, "controller service API 'A B' must be non-empty"),
        ({"identifies_controller_service": "A", "expression_scope": ExpressionScope.ENVIRONMENT},
         "identifies a controller service, so it takes neither Expression Language nor allowed values"),
    ],
)
def test_service_property_spec_refuses_expressions(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PropertySpec("svc", "Service", **kwargs)  # type: ignore[arg-type]


def test_service_property_describes_its_api_only_when_it_has_one() -> None:
    assert UPSTREAM.to_dict()["identifies_controller_service"] == "Greeter"
    assert "identifies_controller_service" not in GREETING.to_dict()


# -- PropertyValue.as_controller_service --------------------------------------------------


@pytest.fixture
def enabled_registry() -> ControllerServiceRegistry:
    registry = registry_with(greeter("g1"), ConfiguredControllerService(OtherService, component_id="o1"),
                             greeter("off"))
    registry.enable("g1")
    registry.enable("o1")
    return registry


def test_as_controller_service_returns_the_enabled_instance(enabled_registry: ControllerServiceRegistry) -> None:
    value = PropertyValue(" g1 ", UPSTREAM, services=enabled_registry)
    service = value.as_controller_service(Greeter)
    assert service.greet("Ann") == "Hello, Ann"
    instance: object = enabled_registry.node("g1").service
    untyped: object = value.as_controller_service()
    assert service is instance
    assert untyped is instance


@pytest.mark.parametrize(
    ("raw", "spec", "api", "message"),
    [
        ("g1", GREETING, None, "'Greeting' is invalid because it does not identify a controller service"),
        (None, UPSTREAM, None, "'Upstream Greeter' is invalid because it has no value"),
        ("nope", UPSTREAM, None,
         "'Upstream Greeter' is invalid because no controller service with id 'nope' exists in this component's "
         "scope"),
        ("o1", UPSTREAM, None,
         "'Upstream Greeter' is invalid because controller service 'OtherService' (OtherService) does not "
         "provide the Greeter API"),
        ("off", UPSTREAM, None,
         "'Upstream Greeter' is invalid because controller service 'Hi' (GreeterService) is not enabled"),
        ("g1", UPSTREAM, OtherService,
         "'Upstream Greeter' is invalid because controller service 'g1' (GreeterService) is not a OtherService"),
    ],
)
def test_as_controller_service_explains_what_is_wrong(
    enabled_registry: ControllerServiceRegistry, raw: str | None, spec: PropertySpec, api: type | None, message: str
) -> None:
    with pytest.raises(PropertyValueError) as info:
        PropertyValue(raw, spec, services=enabled_registry).as_controller_service(api)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_as_controller_service_without_services() -> None:
    with pytest.raises(PropertyValueError, match="no controller service with id 'g1' exists"):
        PropertyValue("g1", UPSTREAM).as_controller_service()


def test_evaluated_values_keep_their_services(enabled_registry: ControllerServiceRegistry) -> None:
    value = PropertyValue("g1", UPSTREAM, services=enabled_registry, evaluator=lambda text, _: text)
    assert value.evaluate({}).as_controller_service(Greeter).greet("x") == "Hello, x"


# -- validate_service_references -----------------------------------------------------------


def test_references_are_checked_only_when_set_relevant_and_not_already_invalid(
    enabled_registry: ControllerServiceRegistry,
) -> None:
    specs = (MODE, GREETER, UPSTREAM)
    check = validate_service_references
    assert check(specs, {"mode": "plain", "greeter-service": "nope"}, enabled_registry) == []  # dependency off
    assert check(specs, {"mode": "greeted", "greeter-service": "g1", "upstream": None}, enabled_registry) == []
    results = check(specs, {"mode": "greeted", "greeter-service": "off", "upstream": "o1"}, enabled_registry)
    assert results == [
        ValidationResult("Greeter Service", "controller service 'Hi' (GreeterService) is not enabled",
                         "greeter-service"),
        ValidationResult("Upstream Greeter",
                         "controller service 'OtherService' (OtherService) does not provide the Greeter API",
                         "upstream"),
    ]
    assert check(specs, {"mode": "greeted", "greeter-service": "off"}, enabled_registry,
                 skip=["greeter-service"]) == []


# -- ConfiguredControllerService ---------------------------------------------------------------


def test_enable_validates_calls_on_enabled_and_disable_reverses_it() -> None:
    node = greeter(properties={"greeting": "Hey #{who}", "Punctuation": "!", "extra": "${x:isNull()}"},
                   evaluator=expression.evaluator({"who": "you"}), parameters={"who": "you"})
    service = node.service
    assert isinstance(service, GreeterService)
    assert node.state == DISABLED and not node.enabled
    node.enable()
    assert node.state == ENABLED and service.greeting == "Hey you" and service.enabled_count == 1
    assert service.extra == {"extra": "true"}  # no flowfile attributes reach a service
    node.enable()  # already enabled: nothing happens
    assert service.enabled_count == 1
    node.disable()
    node.disable()
    assert node.state == DISABLED and service.greeting is None and service.disabled_count == 1


def test_enabling_an_invalid_service_names_the_property_and_leaves_it_disabled() -> None:
    node = greeter(properties={"Punctuation": "  "})
    with pytest.raises(InvalidComponentError) as info:
        node.enable()
    assert "controller service 'Hi' (GreeterService) is invalid" in str(info.value)
    assert "'Punctuation' is invalid because" in str(info.value)
    assert info.value.results[0].key == "punctuation"
    assert node.state == DISABLED and node.service.enabled_count == 0  # type: ignore[attr-defined]


def test_expression_and_parameter_problems_make_a_service_invalid() -> None:
    node = greeter(properties={"greeting": "${a:noSuchFunction()}", "Punctuation": "#{missing}"},
                   evaluator=expression.evaluator({}), parameters={})
    subjects = {r.subject: r.explanation for r in node.validation_results()}
    assert "is not a valid expression" in subjects["Greeting"]
    assert subjects["Punctuation"] == "it references the parameter(s) 'missing', which the flow does not define"


def test_a_flowfile_scoped_property_evaluates_against_the_attributes_it_is_given() -> None:
    """As NiFi's record readers evaluate Schema Name with the flowfile's attributes."""
    from flowyard.runtime.sdk import ConfigurationContext

    per_flowfile = PropertySpec("name", "Name", expression_scope=FLOWFILE)
    environment = PropertySpec("env", "Env", expression_scope=ExpressionScope.ENVIRONMENT)
    context = ConfigurationContext(
        component_id="s", name="s", component_type="S", specs=(per_flowfile, environment),
        properties={"name": "${schema.name}-x", "env": "${schema.name}-y"}, dynamic={},
        evaluator=expression.evaluator({}))
    assert context.property(per_flowfile).evaluate({"schema.name": "orders"}).value == "orders-x"
    assert context.property(environment).evaluate({"schema.name": "orders"}).value == "-y", "attributes ignored"


def test_unknown_property_names_fail_when_configured() -> None:
    with pytest.raises(UnknownPropertyError, match="unknown property 'Colour'"):
        ConfiguredControllerService(OtherService, component_id="o", properties={"Colour": "red"})


def test_a_failing_on_enabled_keeps_the_service_disabled() -> None:
    node = ConfiguredControllerService(FailingService, component_id="f")
    with pytest.raises(FlowyardError, match=r"'FailingService' \(FailingService\) could not be enabled: "
                                            r"OSError: cannot reach the backend") as info:
        node.enable()
    assert isinstance(info.value.__cause__, OSError)
    assert node.state == DISABLED


def test_a_failing_on_disabled_still_disables() -> None:
    node = ConfiguredControllerService(FailingService, component_id="f")
    node.state = ENABLED  # as if on_enabled had worked
    with pytest.raises(FlowyardError, match="failed while disabling: RuntimeError: cleanup failed"):
        node.disable()
    assert node.state == DISABLED


def test_custom_validation_runs_once_properties_are_valid() -> None:
    class Picky(GreeterService):
        def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
            if context.property(GREETING).as_str() == "Yo":
                return [ValidationResult("Greeting", "'Yo' is too casual", "greeting")]
            raise ConfigurationError("something else is off")

    assert ConfiguredControllerService(Picky, component_id="p", properties={"greeting": "Yo"}) \
        .validation_results() == [ValidationResult("Greeting", "'Yo' is too casual", "greeting")]
    assert ConfiguredControllerService(Picky, component_id="p").validation_results() == [
        ValidationResult("Configuration", "something else is off")]


def test_an_instance_is_used_as_is() -> None:
    instance = GreeterService()
    node = ConfiguredControllerService(instance, component_id="g")
    node.enable()
    assert node.service is instance and instance.greeting == "Hello"


# -- the registry -----------------------------------------------------------------------------


def test_services_referencing_services_enable_in_order_and_refuse_to_disable_under_a_dependent() -> None:
    registry = ControllerServiceRegistry()
    registry.add(ConfiguredControllerService(LoudGreeter, component_id="loud", properties={"upstream": "g1"},
                                             services=registry))
    registry.add(greeter("g1", registry=registry))
    assert registry.referencing("g1") == ["loud"]
    with pytest.raises(InvalidComponentError, match="'Hi' \\(GreeterService\\) is not enabled"):
        registry.enable("loud")
    assert registry.enable_all() == {}
    loud = registry.get("loud")
    assert isinstance(loud, LoudGreeter) and loud.greet("ann") == "HELLO, ANN"
    with pytest.raises(ConfigurationError, match="referenced by enabled controller service\\(s\\) 'LoudGreeter'"):
        registry.disable("g1")
    assert registry.disable_all() == {}
    assert not registry.is_enabled("g1") and not registry.is_enabled("loud")


def test_enable_all_reports_failures_and_their_dependents() -> None:
    registry = ControllerServiceRegistry()
    registry.add(ConfiguredControllerService(FailingService, component_id="bad"))
    registry.add(ConfiguredControllerService(LoudGreeter, component_id="loud", properties={"upstream": "bad"},
                                             services=registry))
    registry.add(greeter("fine"))
    errors = registry.enable_all()
    assert sorted(errors) == ["bad", "loud"]
    assert "could not be enabled" in str(errors["bad"])
    assert "'FailingService' (FailingService) is not enabled" in str(errors["loud"])
    assert registry.is_enabled("fine")


def test_enabled_services_cannot_be_replaced_or_removed() -> None:
    registry = registry_with(greeter("g1"))
    registry.enable("g1")
    with pytest.raises(ConfigurationError, match="disable it before changing its configuration"):
        registry.add(greeter("g1"))
    with pytest.raises(ConfigurationError, match="disable it before removing it"):
        registry.remove("g1")
    registry.disable("g1")
    registry.add(greeter("g1", {"greeting": "Hiya"}))
    assert registry.remove("g1").static["greeting"] == "Hiya"
    assert "g1" not in registry and len(registry) == 0
    with pytest.raises(KeyError, match="no controller service 'g1'; known: none"):
        registry.node("g1")


def test_a_scoped_view_sees_only_its_services(enabled_registry: ControllerServiceRegistry) -> None:
    view = enabled_registry.scoped(["o1", "elsewhere"])
    assert view.visible == frozenset({"o1", "elsewhere"})
    assert view.get("g1") is None and view.describe("g1") is None
    assert not view.is_enabled("g1") and not view.provides("g1", "Greeter")
    assert view.is_enabled("o1") and view.provides("o1", "Other") and view.get("o1") is not None
    assert view.describe("elsewhere") is None


# -- processors validated against services -----------------------------------------------------------


def configured(registry: ControllerServiceRegistry | None, **properties: str) -> ConfiguredProcessor:
    return ConfiguredProcessor(Greet, component_id="p", properties={"mode": "greeted", **properties},
                               services=registry)


@pytest.mark.parametrize(
    ("service_id", "visible", "explanation"),
    [
        ("g1", None, None),
        ("g1", ["g1"], None),
        ("g1", ["o1"], "no controller service with id 'g1' exists in this component's scope"),
        ("missing", None, "no controller service with id 'missing' exists in this component's scope"),
        ("o1", None, "controller service 'OtherService' (OtherService) does not provide the Greeter API"),
        ("off", None, "controller service 'Hi' (GreeterService) is not enabled"),
    ],
)
def test_a_processor_is_invalid_while_its_service_is_unusable(
    enabled_registry: ControllerServiceRegistry, service_id: str, visible: list[str] | None, explanation: str | None
) -> None:
    lookup = enabled_registry if visible is None else enabled_registry.scoped(visible)
    results = configured(lookup, **{"Greeter Service": service_id}).validation_results(has_input=False)  # type: ignore[arg-type]
    expected = [] if explanation is None else [ValidationResult("Greeter Service", explanation, "greeter-service")]
    assert results == expected


def test_validity_follows_the_service_state(enabled_registry: ControllerServiceRegistry) -> None:
    processor = configured(enabled_registry, **{"greeter-service": "off"})
    assert processor.validation_results(has_input=False)
    enabled_registry.enable("off")
    assert processor.validation_results(has_input=False) == []
    assert processor.referenced_services() == {"greeter-service": "off"}
    assert processor.context.property(GREETER).as_controller_service(Greeter).greet("x") == "Hello, x"


def test_without_services_a_reference_is_invalid_and_parameters_still_apply() -> None:
    processor = ConfiguredProcessor(Greet, component_id="p", parameters={"svc": "g1"},
                                    properties={"mode": "greeted", "greeter-service": "#{svc}"})
    assert processor.referenced_services() == {"greeter-service": "g1"}
    assert processor.validation_results(has_input=False) == [ValidationResult(
        "Greeter Service", "no controller service with id 'g1' exists in this component's scope", "greeter-service")]


def test_a_missing_parameter_is_reported_once(enabled_registry: ControllerServiceRegistry) -> None:
    processor = ConfiguredProcessor(Greet, component_id="p", parameters={}, services=enabled_registry,
                                    evaluator=expression.evaluator({}),
                                    properties={"mode": "greeted", "greeter-service": "#{svc}"})
    assert processor.validation_results(has_input=False) == [ValidationResult(
        "Greeter Service", "it references the parameter(s) 'svc', which the flow does not define",
        "greeter-service")]
