"""IdentifyMimeType, with the files and expectations of NiFi's TestIdentifyMimeType."""

from __future__ import annotations

import bz2
import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from flowyard.processors.identify_mime_type import IdentifyMimeType
from flowyard.runtime.sdk.testing import ProcessorRunner

CONFIG_BODY = """<?xml version="1.0" encoding="UTF-8"?>
<mime-info>
  <mime-type type="custom/abcd">
    <magic priority="50">
      <match value="abcd" type="string" offset="0"/>
    </magic>
    <glob pattern="*.abcd" />
  </mime-type>
  <mime-type type="image/png">
    <acronym>PNG</acronym>
    <_comment>Portable Network Graphics</_comment>
    <magic priority="50">
      <match value="\\x89PNG\\x0d\\x0a\\x1a\\x0a" type="string" offset="0"/>
    </magic>
    <glob pattern="*.customPng"/>
  </mime-type>
</mime-info>"""

CONFIG_FILE_BODY = """<?xml version="1.0" encoding="UTF-8"?>
<mime-info>
  <mime-type type="my/png"><magic><match value="\\x89PNG" type="string" offset="0"/></magic>
    <glob pattern="*.mypng"/></mime-type>
  <mime-type type="my/jpeg"><magic><match value="0xffd8" type="big16" offset="0"/></magic>
    <glob pattern="*.myjpg"/></mime-type>
  <mime-type type="my/gif"><magic><match value="GIF8" type="string" offset="0">
    <match value="a" type="string" offset="5"/></match></magic><glob pattern="*.mygif"/></mime-type>
</mime-info>"""


def _tar(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


TEXT = b"This is a test file.\nIt has two lines.\n"
XHTML = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
         b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head><body/></html>')
FILES = {
    "1.7z": b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(40),
    "1.accdb": b"\x00\x01\x00\x00Standard ACE DB\x00" + bytes(100),
    "1.txt": TEXT,
    "1.csv": b"a,b,c\n1,2,3\n",
    "1.txt.bz2": bz2.compress(TEXT),
    "1.txt.gz": gzip.compress(TEXT),
    "1.zip": _zip([("1.txt", TEXT)]),
    "bgBannerFoot.png": b"\x89PNG\r\n\x1a\n" + bytes(40),
    "blueBtnBg.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(40),
    "1.pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Filter/FlateDecode>>stream\n"
              + gzip.compress(bytes(range(256)) * 4)),
    "grid.gif": b"GIF89a\x01\x00\x01\x00" + bytes(20),
    "1.tar": _tar([("1.txt", TEXT)]),
    "1.tar.gz": gzip.compress(_tar([("1.txt", TEXT)])),
    "1.jar": _zip([("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"), ("a.class", b"\xca\xfe")]),
    "1.xml": b'<?xml version="1.0" encoding="UTF-8"?>\n<root><a>1</a></root>\n',
    "1.xhtml": XHTML,
    "flowfilev3": b"NiFiFF3\x00\x01\x00\x08filename\x00\x03abc" + bytes(8) + TEXT,
    "flowfilev3WithXhtml": b"NiFiFF3\x00\x00" + bytes(8) + XHTML,
    "flowfilev1.tar": _tar([("flowfile.attributes", b"<properties/>"), ("flowfile.content", TEXT)]),
    "fake.csv": b"This is not really a csv file\n",
    "2.custom": b"abcd is the start of this text\n",
    "charset-utf-8.txt": "Grüße aus Zürich\n".encode(),
}

COMMON = {
    "1.7z": ("application/x-7z-compressed", ".7z", None),
    "1.accdb": ("application/x-msaccess", ".accdb", None),
    "1.txt": ("text/plain", ".txt", "ISO-8859-1"),
    "1.csv": ("text/csv", ".csv", "ISO-8859-1"),
    "1.txt.bz2": ("application/x-bzip2", ".bz2", None),
    "1.txt.gz": ("application/gzip", ".gz", None),
    "1.zip": ("application/zip", ".zip", None),
    "bgBannerFoot.png": ("image/png", ".png", None),
    "blueBtnBg.jpg": ("image/jpeg", ".jpg", None),
    "1.pdf": ("application/pdf", ".pdf", None),
    "grid.gif": ("image/gif", ".gif", None),
    "1.tar": ("application/x-tar", ".tar", None),
    "1.tar.gz": ("application/gzip", ".gz", None),
    "1.jar": ("application/java-archive", ".jar", None),
    "1.xml": ("application/xml", ".xml", None),
    "1.xhtml": ("application/xhtml+xml", ".xhtml", None),
    "flowfilev3": ("application/flowfile-v3", "", None),
    "flowfilev3WithXhtml": ("application/flowfile-v3", "", None),
    "flowfilev1.tar": ("application/flowfile-v1", "", None),
    "fake.csv": ("text/csv", ".csv", "ISO-8859-1"),
    "2.custom": ("text/plain", ".txt", "ISO-8859-1"),
    "charset-utf-8.txt": ("text/plain", ".txt", "UTF-8"),
}

REPLACED_BY_BODY = {name: ("application/octet-stream", "") for name in FILES} | {
    "1.txt": ("text/plain", ""), "1.csv": ("text/plain", ""), "bgBannerFoot.png": ("image/png", ".customPng"),
    "1.xml": ("text/plain", ""), "1.xhtml": ("text/plain", ""), "fake.csv": ("text/plain", ""),
    "2.custom": ("custom/abcd", ".abcd"), "charset-utf-8.txt": ("text/plain", ""),
}
REPLACED_BY_FILE = REPLACED_BY_BODY | {
    "bgBannerFoot.png": ("my/png", ".mypng"), "blueBtnBg.jpg": ("my/jpeg", ".myjpg"), "grid.gif": ("my/gif", ".mygif"),
    "2.custom": ("text/plain", ""),
}
MERGED_WITH_BODY = {name: expected[:2] for name, expected in COMMON.items()} | {
    "bgBannerFoot.png": ("image/png", ".customPng"), "2.custom": ("custom/abcd", ".abcd"),
}
MERGED_WITH_FILE = {name: expected[:2] for name, expected in COMMON.items()} | {
    "bgBannerFoot.png": ("my/png", ".mypng"), "blueBtnBg.jpg": ("my/jpeg", ".myjpg"), "grid.gif": ("my/gif", ".mygif"),
}


def identify(name: str, **properties: str) -> dict[str, str]:
    r = ProcessorRunner(IdentifyMimeType)
    for key, value in properties.items():
        r.set_property(key, value)
    r.enqueue(FILES[name], {"filename": name})
    r.run()
    r.assert_all_transferred("success", 1)
    out = r.flowfiles_for("success")[0]
    out.assert_content_equals(FILES[name])
    return out.attributes


@pytest.mark.parametrize("name", sorted(FILES))
def test_files(name: str) -> None:
    attributes = identify(name)
    assert (attributes["mime.type"], attributes["mime.extension"], attributes.get("mime.charset")) == COMMON[name]


def test_ignore_file_name() -> None:
    attributes = identify("fake.csv", **{"Use Filename In Detection": "false"})
    assert (attributes["mime.type"], attributes["mime.extension"]) == ("text/plain", ".txt")


@pytest.mark.parametrize("name", sorted(FILES))
def test_replace_with_config_body(name: str) -> None:
    attributes = identify(name, **{"Config Strategy": "Replace", "Custom MIME Configuration": CONFIG_BODY})
    assert (attributes["mime.type"], attributes["mime.extension"]) == REPLACED_BY_BODY[name]


@pytest.mark.parametrize("name", sorted(FILES))
def test_replace_with_config_file(name: str, tmp_path: Path) -> None:
    config = tmp_path / "customConfig.xml"
    config.write_text(CONFIG_FILE_BODY)
    attributes = identify(name, **{"Config Strategy": "Replace", "Custom MIME Configuration": str(config)})
    assert (attributes["mime.type"], attributes["mime.extension"]) == REPLACED_BY_FILE[name]


@pytest.mark.parametrize("name", sorted(FILES))
def test_merge_with_config_body(name: str) -> None:
    attributes = identify(name, **{"Config Strategy": "Merge", "Custom MIME Configuration": CONFIG_BODY})
    assert (attributes["mime.type"], attributes["mime.extension"]) == MERGED_WITH_BODY[name]


@pytest.mark.parametrize("name", sorted(FILES))
def test_merge_with_config_file(name: str, tmp_path: Path) -> None:
    config = tmp_path / "customConfig.xml"
    config.write_text(CONFIG_FILE_BODY)
    attributes = identify(name, **{"Config Strategy": "Merge", "Custom MIME Configuration": str(config)})
    assert (attributes["mime.type"], attributes["mime.extension"]) == MERGED_WITH_FILE[name]


@pytest.mark.parametrize("value", [None, "gibberish", "<mime-info><mime-type type='nonsense'/></mime-info>",
                                   "<not-mime-info/>", "<mime-info>", "/no/such/file.xml",
                                   "<mime-info><mime-type type='a/b'><magic><match value='x' type='regex'/>"
                                   "</magic></mime-type></mime-info>"])
def test_invalid_custom_configuration(value: str | None) -> None:
    r = ProcessorRunner(IdentifyMimeType)
    r.set_property("Config Strategy", "Replace")
    if value is not None:
        r.set_property("Custom MIME Configuration", value)
    r.assert_not_valid()


def test_legacy_names_and_preset_ignores_the_configuration() -> None:
    r = ProcessorRunner(IdentifyMimeType)
    r.set_property("use-filename-in-detection", "false")
    r.set_property("config-strategy", "Preset")
    r.assert_valid()


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (b"", "empty", "application/octet-stream"),
        (b"", "empty.txt", "text/plain"),
        (b"\x00\x01\x02\x03binary", "blob", "application/octet-stream"),
        (b'{"a": 1}', "data", "text/plain"),
        (b'{"a": 1}', "data.json", "application/json"),
        (b"<!DOCTYPE html><html><body>x</body></html>", "page", "text/html"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "pic", "image/svg+xml"),
        (_zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>")]), "doc",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (b"\x28\xb5\x2f\xfd" + bytes(10), "x", "application/zstd"),
        (b"\xfd7zXZ\x00" + bytes(10), "x", "application/x-xz"),
        ("ünïcode".encode("utf-16"), "u16", "text/plain"),
    ],
)
def test_more_types(content: bytes, filename: str, expected: str) -> None:
    r = ProcessorRunner(IdentifyMimeType)
    r.enqueue(content, {"filename": filename})
    r.run()
    r.flowfiles_for("success")[0].assert_attribute_equals("mime.type", expected)


def test_charset_from_bom() -> None:
    r = ProcessorRunner(IdentifyMimeType)
    r.enqueue("ünïcode".encode("utf-16-le").join([b"\xff\xfe", b""]), {"filename": "x.txt"})
    r.run()
    r.flowfiles_for("success")[0].assert_attribute_equals("mime.charset", "UTF-16LE")
