"""ProcessorRunner's controller services: added, enabled and disabled as in
nifi-mock, under the same rules as the engine."""

from __future__ import annotations

import pytest

from flowyard.runtime.sdk import (
    ConfigurationContext,
    ConfigurationError,
    ControllerService,
    ControllerServiceSpec,
    InvalidComponentError,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)
from flowyard.runtime.sdk.testing import ProcessorRunner

SUCCESS = Relationship("success", "Tagged flowfiles.")


class Tagger:
    """The 'Tagger' API."""

    def tag(self) -> str:
        raise NotImplementedError


TAG = PropertySpec("tag", "Tag", required=True, validator=validators.NON_EMPTY)


class TagService(ControllerService, Tagger):
    """Hands out a configured tag; counts its lifecycle calls."""

    spec = ControllerServiceSpec("Tags.", provides=("Tagger",), properties=(TAG,))

    def __init__(self) -> None:
        self.value = ""
        self.calls: list[str] = []

    def on_enabled(self, context: ConfigurationContext) -> None:
        self.value = context.property(TAG).evaluate().as_str()
        self.calls.append("enabled")

    def on_disabled(self) -> None:
        self.calls.append("disabled")

    def tag(self) -> str:
        return self.value


TAGGER = PropertySpec("tagger", "Tagger Service", required=True, identifies_controller_service="Tagger")


class TagFlowFiles(Processor):
    """Sets attribute 'tag' from the Tagger service."""

    blocking = False
    spec = ProcessorSpec("Tags.", properties=(TAGGER,), relationships=(SUCCESS,))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        tagger = context.property(TAGGER).as_controller_service(Tagger)
        for ff in session.get_batch(10):
            session.transfer(session.put_attribute(ff, "tag", tagger.tag()), SUCCESS)


@pytest.fixture
def runner() -> ProcessorRunner:
    r = ProcessorRunner(TagFlowFiles)
    r.set_property("Tagger Service", "tags")
    return r


def test_an_enabled_service_is_used_by_the_processor(runner: ProcessorRunner) -> None:
    service = runner.add_controller_service("tags", TagService, {"Tag": "blue"}, name="Tags")
    assert isinstance(service, TagService) and runner.controller_service("tags") is service
    runner.assert_not_valid()
    runner.enable_controller_service("tags")
    runner.assert_valid()
    runner.enqueue(b"x")
    runner.run()
    runner.flowfiles_for("success")[0].assert_attribute_equals("tag", "blue")
    assert service.calls == ["enabled"]


@pytest.mark.parametrize(
    ("setup", "explanation"),
    [
        ("none", "no controller service with id 'tags' exists in this component's scope"),
        ("disabled", "controller service 'TagService' (TagService) is not enabled"),
        ("wrong-api", "controller service 'Other' (OtherService) does not provide the Tagger API"),
    ],
)
def test_the_processor_cannot_run_without_a_usable_service(
    runner: ProcessorRunner, setup: str, explanation: str
) -> None:
    class OtherService(ControllerService):
        spec = ControllerServiceSpec("Other.", provides=("Other",))

    if setup == "disabled":
        runner.add_controller_service("tags", TagService, {"Tag": "blue"})
    elif setup == "wrong-api":
        runner.add_controller_service("tags", OtherService, name="Other")
        runner.enable_controller_service("tags")
    runner.enqueue(b"x")
    with pytest.raises(InvalidComponentError) as info:
        runner.run()
    assert str(info.value) == f"TagFlowFiles is invalid: 'Tagger Service' is invalid because {explanation}"
    assert runner.queue_size == 1


def test_an_invalid_service_cannot_be_enabled(runner: ProcessorRunner) -> None:
    runner.add_controller_service("tags", TagService)
    assert [r.subject for r in runner.controller_service_validation_results("tags")] == ["Tag"]
    with pytest.raises(InvalidComponentError, match="'Tag' is invalid because Tag is required"):
        runner.enable_controller_service("tags")
    runner.set_controller_service_property("tags", "tag", "green")
    runner.enable_controller_service("tags")
    runner.assert_valid()


def test_an_enabled_service_cannot_be_reconfigured_or_removed(runner: ProcessorRunner) -> None:
    service = runner.add_controller_service("tags", TagService, {"Tag": "blue"})
    runner.enable_controller_service("tags")
    with pytest.raises(ConfigurationError, match="disable it before changing its configuration"):
        runner.set_controller_service_property("tags", "Tag", "red")
    with pytest.raises(ConfigurationError, match="disable it before removing it"):
        runner.remove_controller_service("tags")
    runner.disable_controller_service("tags")
    runner.set_controller_service_property("tags", "Tag", "red")
    assert isinstance(service, TagService)
    assert runner.controller_service("tags") is service  # the instance outlives reconfiguration
    runner.enable_controller_service("tags")
    assert service.value == "red" and service.calls == ["enabled", "disabled", "enabled"]
    runner.disable_controller_service("tags")
    runner.remove_controller_service("tags")
    runner.assert_not_valid()


def test_a_service_in_use_by_the_scheduled_processor_cannot_be_disabled(runner: ProcessorRunner) -> None:
    runner.add_controller_service("tags", TagService, {"Tag": "blue"})
    runner.enable_controller_service("tags")
    runner.run(stop_on_finish=False)
    with pytest.raises(ConfigurationError, match="used by the scheduled processor; stop it first"):
        runner.disable_controller_service("tags")
    runner.stop()
    runner.disable_controller_service("tags")


def test_every_run_revalidates_the_service(runner: ProcessorRunner) -> None:
    runner.add_controller_service("tags", TagService, {"Tag": "blue"})
    runner.enable_controller_service("tags")
    runner.run(stop_on_finish=False)
    runner.services.disable("tags")  # bypasses the runner's guard, as a buggy engine would
    runner.enqueue(b"x")
    with pytest.raises(InvalidComponentError, match=r"'Tagger Service' is invalid because .* is not enabled"):
        runner.run(initialize=False)
    assert runner.queue_size == 1


def test_service_values_use_the_runner_parameters() -> None:
    r = ProcessorRunner(TagFlowFiles, parameters={"color": "teal", "svc": "tags"})
    r.set_property("tagger", "#{svc}")
    service = r.add_controller_service("tags", TagService, {"Tag": "#{color}"})
    r.enable_controller_service("tags")
    r.enqueue(b"x")
    r.run()
    assert isinstance(service, TagService) and service.value == "teal"
    r.assert_all_transferred("success", 1)
