"""The test kit's mock clock and the flowfile a test inspects (``sdk.testing``
re-exports both). Pure: nothing here knows the engine."""

from __future__ import annotations

import trio.testing

from flowyard.runtime.sdk._flowfile import FlowFile

__all__ = ["MockClock", "MockFlowFile"]

_START_MS = 1_700_000_000_000


class MockClock:
    """Milliseconds since the epoch that move only when told to.

    It is a view of ``trio_clock`` (a ``trio.testing.MockClock`` at rate 0), which
    the runner runs the processor on: scheduling, yields and the run duration
    (trio time) and flowfile times (these milliseconds) move together.

    The clock moves by itself in one case only: a processor that waits with a
    trio timeout in ``on_trigger`` (ListenHTTP, HandleHttpRequest wait up to
    0.25 s for a request from another thread) while nothing else can run for
    ``AUTOJUMP_SECONDS`` of real time sees its timeout: the clock jumps to it.
    No other waits have deadlines (the runner's own work has none)."""

    #: Real seconds a trigger may sit idle, waiting on its own timeout, before the clock jumps to it.
    AUTOJUMP_SECONDS = 0.25

    def __init__(self, start_ms: int = _START_MS) -> None:
        self.start_ms = start_ms
        self.trio_clock = trio.testing.MockClock(autojump_threshold=self.AUTOJUMP_SECONDS)

    @property
    def now_ms(self) -> int:
        """The time now. Setting it moves the clock forward (``ValueError`` backwards)."""
        return self.start_ms + round(self.trio_clock.current_time() * 1000)

    @now_ms.setter
    def now_ms(self, value: int) -> None:
        self.advance((value - self.now_ms) / 1000)

    def __call__(self) -> int:
        return self.now_ms

    def seconds(self) -> float:
        """trio's time on this clock (seconds since the runner was made)."""
        return self.trio_clock.current_time()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (callable from a worker thread while the runner waits for it)."""
        self.trio_clock.jump(seconds)


class MockFlowFile:
    """A flowfile as a test sees it: attributes plus content bytes."""

    def __init__(self, flowfile: FlowFile, content: bytes) -> None:
        self.flowfile = flowfile
        self.attributes: dict[str, str] = dict(flowfile.attributes)
        self.content = content

    @property
    def size(self) -> int:
        """Content size in bytes."""
        return len(self.content)

    def is_penalized(self, now_ms: int) -> bool:
        """Whether the flowfile is penalized at ``now_ms``."""
        return self.flowfile.is_penalized(now_ms)

    def assert_attribute_equals(self, key: str, value: str | None) -> None:
        """Fail unless attribute ``key`` is ``value`` (None: absent)."""
        actual = self.attributes.get(key)
        assert actual == value, f"attribute {key!r} is {actual!r}, expected {value!r}"

    def assert_attribute_exists(self, key: str) -> None:
        """Fail unless attribute ``key`` is present."""
        assert key in self.attributes, f"attribute {key!r} missing; present: {sorted(self.attributes)}"

    def assert_content_equals(self, expected: bytes | str) -> None:
        """Fail unless the content is ``expected`` (str is UTF-8 encoded)."""
        data = expected.encode() if isinstance(expected, str) else expected
        assert self.content == data, f"content is {self.content[:200]!r}, expected {data[:200]!r}"

    def __repr__(self) -> str:
        return f"MockFlowFile({self.attributes.get('filename')!r}, size={self.size})"
