"""EncodeContent: encode or decode content as Base64, Base32 or hexadecimal, streamed."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Iterator

from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["DecodingError", "EncodeContent", "decode", "encode"]

_BATCH = 50
ENCODE, DECODE = "Encode", "Decode"
BASE64, BASE32, HEX = "base64", "base32", "hex"
SINGLE_LINE, MULTIPLE_LINES = "SINGLE_LINE", "MULTIPLE_LINES"

_WHITESPACE = re.compile(rb"[ \t\r\n]+")
_BASE64_ALPHABET = re.compile(rb"[A-Za-z0-9+/=\-_ \t\r\n]*")
_BASE32_ALPHABET = re.compile(rb"[A-Za-z2-7= \t\r\n]*")
_URL_SAFE = bytes.maketrans(b"-_", b"+/")
_ERROR_ATTRIBUTE = "encodecontent.error"

SUCCESS = Relationship("success", "FlowFiles encoded or decoded.")
FAILURE = Relationship("failure", "FlowFiles that cannot be decoded (not valid input for the encoding), unchanged.")

MODE = PropertySpec(
    key="mode",
    display_name="Mode",
    description="Encode the bytes of the content as text, or decode such text back into bytes.",
    required=True,
    default=ENCODE,
    allowed_values=(AllowableValue(ENCODE, ENCODE, "Encode the content."),
                    AllowableValue(DECODE, DECODE, "Decode the content.")),
)
ENCODING = PropertySpec(
    key="encoding",
    display_name="Encoding",
    description="The text encoding written when encoding and expected when decoding.",
    required=True,
    default=BASE64,
    allowed_values=(
        AllowableValue(BASE64, "Base64", "RFC 4648 Base64 (decoding also takes the URL-safe alphabet)."),
        AllowableValue(BASE32, "Base32", "RFC 4648 Base32."),
        AllowableValue(HEX, "Hexadecimal", "Two hexadecimal digits per byte (upper case when encoding)."),
    ),
)
LINE_OUTPUT_MODE = PropertySpec(
    key="line-output-mode",
    display_name="Line Output Mode",
    description="Whether encoded content is one line or lines of Encoded Line Length characters.",
    required=True,
    default=SINGLE_LINE,
    allowed_values=(
        AllowableValue(SINGLE_LINE, "Single Line", "The encoded content is one line, without a line feed."),
        AllowableValue(MULTIPLE_LINES, "Multiple Lines",
                       "The encoded content is cut into lines, each ending with a line feed."),
    ),
    validator=validators.NON_EMPTY,
    dependencies=(PropertyDependency(MODE.key, (ENCODE,)), PropertyDependency(ENCODING.key, (BASE64, BASE32))),
)
ENCODED_LINE_LENGTH = PropertySpec(
    key="encoded-line-length",
    display_name="Encoded Line Length",
    description=(
        "The longest line of encoded text, in characters; cut down to whole blocks (4 characters for Base64, 8 "
        "for Base32). A value under one block gives a single line."
    ),
    required=True,
    default="76",
    validator=validators.POSITIVE_INTEGER,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency(MODE.key, (ENCODE,)), PropertyDependency(ENCODING.key, (BASE64, BASE32)),
                  PropertyDependency(LINE_OUTPUT_MODE.key, (MULTIPLE_LINES,))),
)


class DecodingError(ValueError):
    """The content is not valid for the encoding."""


def _rechunk(chunks: Iterable[bytes], block: int) -> Iterator[tuple[bytes, bool]]:
    """Pieces whose length is a multiple of ``block`` (the last one may not
    be), each with whether it is the last."""
    rest = b""
    for chunk in chunks:
        data = rest + chunk if rest else chunk
        cut = len(data) - len(data) % block
        rest = data[cut:]
        if cut:
            yield data[:cut], False
    yield rest, True


def _wrap(pieces: Iterable[bytes], line_length: int) -> Iterator[bytes]:
    """Encoded text cut into lines of ``line_length`` characters, each followed
    by a line feed, the last one too (commons-codec's chunked output)."""
    if line_length <= 0:
        yield from pieces
        return
    column = 0
    for piece in pieces:
        out = bytearray()
        pos = 0
        while pos < len(piece):
            take = min(line_length - column, len(piece) - pos)
            out += piece[pos:pos + take]
            pos += take
            column += take
            if column == line_length:
                out += b"\n"
                column = 0
        if out:
            yield bytes(out)
    if column:
        yield b"\n"


def _b64encode(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False)


def encode(chunks: Iterable[bytes], encoding: str, line_length: int = 0) -> Iterator[bytes]:
    """Streamed encoding. ``line_length`` > 0 cuts Base64/Base32 output into
    lines (rounded down to whole 4- or 8-character blocks, as commons-codec)."""
    if encoding == HEX:
        for chunk in chunks:
            if chunk:
                yield binascii.hexlify(chunk).upper()
        return
    coder: Callable[[bytes], bytes]
    if encoding == BASE64:
        block, size, coder = 3, 4, _b64encode
    else:
        block, size, coder = 5, 8, base64.b32encode
    encoded = (coder(piece) for piece, _ in _rechunk(chunks, block * 4096) if piece)
    yield from _wrap(encoded, line_length // size * size)


def _base64_piece(text: bytes) -> bytes:
    text = text.translate(_URL_SAFE)
    if len(text) % 4 == 1:  # six bits cannot make a byte: dropped, as commons-codec's lenient decoding does
        text = text[:-1]
    return binascii.a2b_base64(text + b"=" * (-len(text) % 4), strict_mode=True)


_BASE32_VALID_TAIL = {0: 0, 1: 0, 2: 2, 3: 2, 4: 4, 5: 5, 6: 5, 7: 7}


def _base32_piece(text: bytes) -> bytes:
    keep = len(text) - len(text) % 8 + _BASE32_VALID_TAIL[len(text) % 8]
    text = text[:keep]
    return base64.b32decode(text + b"=" * (-len(text) % 8), casefold=True)


def decode(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """Streamed decoding; raises ``DecodingError`` for input that is not valid.

    Base64 and Base32 ignore whitespace, stop at the first '=' (padding ends
    the data) and decode an incomplete last block as far as it goes, as
    commons-codec does for NiFi; hexadecimal takes no whitespace and needs an
    even number of digits."""
    if encoding == HEX:
        yield from _decode_hex(chunks)
        return
    valid, block, piece_decoder = (
        (_BASE64_ALPHABET, 4, _base64_piece) if encoding == BASE64 else (_BASE32_ALPHABET, 8, _base32_piece))
    name = "base64" if encoding == BASE64 else "base32"
    ended = False

    def text_pieces() -> Iterator[bytes]:
        nonlocal ended
        for chunk in chunks:
            if not valid.fullmatch(chunk):
                raise DecodingError(f"Data is not {name} encoded.")
            if ended:
                continue
            text = _WHITESPACE.sub(b"", chunk)
            pad = text.find(b"=")
            if pad >= 0:
                ended = True
                text = text[:pad]
            yield text

    for piece, last in _rechunk(text_pieces(), block * 4096):
        if piece or last:
            try:
                out = piece_decoder(piece)
            except (binascii.Error, ValueError) as exc:
                raise DecodingError(f"Data is not {name} encoded: {exc}") from None
            if out:
                yield out


def _decode_hex(chunks: Iterable[bytes]) -> Iterator[bytes]:
    for piece, last in _rechunk(chunks, 2 * 4096):
        if len(piece) % 2:
            raise DecodingError("Hexadecimal decoding failed: odd number of characters")
        try:
            out = binascii.unhexlify(piece)
        except binascii.Error:
            raise DecodingError("Hexadecimal decoding failed: not a hexadecimal digit") from None
        if out:
            yield out
        if last:
            return


class EncodeContent(Processor):
    """Encodes content to Base64, Base32 or hexadecimal text, or decodes it
    back, streamed, as NiFi's EncodeContent (commons-codec rules).

    Encoding: Base64 and Base32 use the standard alphabets with '=' padding;
    hexadecimal is upper case. 'Single Line' output has no line feed; with
    'Multiple Lines' every line, the last one included, ends with a line
    feed, and Encoded Line Length is rounded down to whole blocks (4
    characters for Base64, 8 for Base32); a length under one block gives a
    single line.

    Decoding: Base64 accepts the standard and URL-safe alphabets, Base32
    upper or lower case; whitespace is ignored, the first '=' ends the data,
    and an incomplete last block is decoded as far as it goes (lenient, as
    commons-codec). A character outside the alphabet, an odd number of
    hexadecimal digits, or whitespace in hexadecimal sends the FlowFile to
    ``failure`` unchanged, with the reason in ``encodecontent.error`` and an
    error logged. Encoded Line Length that evaluates to no positive whole
    number also sends the FlowFile to ``failure``.

    Differences from NiFi: every character of Base64/Base32 input is checked,
    also after the padding (NiFi stops reading there); the reason attribute
    ``encodecontent.error`` is flowyard's; NiFi's documentation says lines are
    rounded to multiples of 4 characters, but its Base32 codec rounds to 8, as
    here.
    """

    spec = ProcessorSpec(
        description="Turns the content of FlowFiles into Base64, Base32 or hexadecimal text, or such text back "
                    "into bytes.",
        tags=("encode", "decode", "base64", "base32", "hex"),
        properties=(MODE, ENCODING, LINE_OUTPUT_MODE, ENCODED_LINE_LENGTH),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=((_ERROR_ATTRIBUTE, "Why the FlowFile went to failure."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Encode or decode a batch of FlowFiles."""
        encoding = context.property(ENCODING).as_str()
        encoding_mode = context.property(MODE).as_str() == ENCODE
        multiple = encoding != HEX and context.property(LINE_OUTPUT_MODE).as_str() == MULTIPLE_LINES
        for ff in session.get_batch(_BATCH):
            transform: Callable[[Iterable[bytes]], Iterator[bytes]]
            try:
                if encoding_mode:
                    length = (context.property(ENCODED_LINE_LENGTH).evaluate(ff.attributes).as_int()
                              if multiple else 0)
                    if multiple and length < 1:
                        raise ValueError(f"Encoded Line Length {length} is not a positive number")

                    def transform(chunks: Iterable[bytes], length: int = length) -> Iterator[bytes]:
                        return encode(chunks, encoding, length)
                else:
                    def transform(chunks: Iterable[bytes]) -> Iterator[bytes]:
                        return decode(chunks, encoding)
                ff = session.write(ff, transform(session.iter_content(ff)))
            except ValueError as exc:
                verb = "encode" if encoding_mode else "decode"
                context.logger.error(f"cannot {verb} {ff!r} as {encoding}: {exc}; routing it to failure")
                session.transfer(session.put_attribute(ff, _ERROR_ATTRIBUTE, str(exc)), FAILURE)
                continue
            session.transfer(ff, SUCCESS)
