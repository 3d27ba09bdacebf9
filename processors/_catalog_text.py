"""The text family of the standard library. Text: ReplaceText, ReplaceTextWithMapping, ExtractText, RouteOnContent,
RouteText.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.extract_text import ExtractText
from flowyard.processors.replace_text import ReplaceText
from flowyard.processors.replace_text_with_mapping import ReplaceTextWithMapping
from flowyard.processors.route_on_content import RouteOnContent
from flowyard.processors.route_text import RouteText
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (
    ReplaceText, ExtractText, RouteOnContent, RouteText, ReplaceTextWithMapping,
)
SERVICES: tuple[type[ControllerService], ...] = ()
