"""The Add dialog finds the processor library by the words a NiFi user types
(issue 12: "typing json in the Add dialog finds nothing")."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import Server, log_in

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("word", "types"), [
    ("json", ["EvaluateJsonPath", "SplitJson", "JoltTransformJSON", "FlattenJson", "AttributesToJSON"]),
    ("http", ["InvokeHTTP", "ListenHTTP", "HandleHttpRequest", "HandleHttpResponse"]),
    ("split", ["SplitText", "SplitContent", "SplitJson", "SplitXml"]),
    ("compress", ["CompressContent"]),
])
def test_typing_a_word_finds_the_processors(page: Any, server: Server, shoot: Any, word: str,
                                           types: list[str]) -> None:
    log_in(page, server.url)
    page.get_by_test_id("btn-add").click()
    expect(page.get_by_test_id("add-dialog")).to_be_visible()
    page.get_by_test_id("add-dialog-search").fill(word)
    for type_name in types:
        expect(page.get_by_test_id(f"add-dialog-item-{type_name}")).to_be_visible()
    expect(page.get_by_test_id("add-dialog-item-GenerateFlowFile")).to_have_count(0)
    shoot(page, f"add-dialog-{word}")
