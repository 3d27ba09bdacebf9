"""Typing a word in the canvas's Add dialog finds the processors a NiFi user
expects: the dialog matches type names, descriptions and tags
(canvas_ui/web/src/canvas/Overlays.tsx, ``filterTypes``); these words are
in the tags themselves, so a tag filter finds them too."""

from __future__ import annotations

import pytest

from flowyard.processors import PROCESSORS

EXPECTED = {
    "json": {"EvaluateJsonPath", "SplitJson", "FlattenJson", "JoltTransformJSON", "AttributesToJSON", "ValidateJson"},
    "http": {"InvokeHTTP", "ListenHTTP", "HandleHttpRequest", "HandleHttpResponse"},
    "split": {"SplitText", "SplitContent", "SplitJson", "SplitXml", "SegmentContent"},
    "compress": {"CompressContent"},
    "xml": {"EvaluateXPath", "SplitXml", "TransformXml"},
    "merge": {"MergeContent"},
    "hash": {"CryptographicHashContent", "CryptographicHashAttribute"},
    "regex": {"ReplaceText", "ExtractText", "RouteOnContent", "RouteText", "RouteOnAttribute"},
    "command": {"ExecuteStreamCommand", "ExecuteProcess"},
    "tcp": {"ListenTCP", "PutTCP"},
    "udp": {"ListenUDP", "PutUDP"},
    "email": {"PutEmail"},
    "archive": {"MergeContent", "UnpackContent"},
}


def tagged(word: str) -> set[str]:
    return {name for name, cls in PROCESSORS.items() if word in {t.lower() for t in cls.spec.tags}}


@pytest.mark.parametrize("word", sorted(EXPECTED))
def test_a_word_finds_the_processors_a_nifi_user_expects(word: str) -> None:
    missing = EXPECTED[word] - tagged(word)
    assert not missing, f"tag {word!r} missing on {sorted(missing)}"
