"""Journey of a pip user: the wheel (built by ``python -m build`` as ``make wheel``
does, through the sdist) carries the built canvas, and a fresh virtual
environment with only that wheel and its dependencies serves the canvas at ``/``
(not the fallback page of ``canvas_ui/pages.py``).

The build runs on a copy of the packaging inputs under ``tmp_path``, so the
checkout gets no ``build/`` or ``*.egg-info``. The dependencies are installed by
pip from the configured index, as a user's would be (~15 s here): a venv sharing
the development environment's packages would also share its editable flowyard
and hide a missing dependency."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import PASSWORD, ROOT, USER, Server, log_in, stop_server

pytestmark = [pytest.mark.slow, pytest.mark.integration]

#: What setup.py and pyproject.toml read to build flowyard.
PACKAGING_INPUTS = ("pyproject.toml", "setup.py", "README.md", "runtime", "processors", "clusters", "canvas_ui",
                    "bootstrap")
BUILT_CANVAS = ROOT / "canvas_ui" / "web" / "dist" / "index.html"
FALLBACK_TEXT = "The canvas is not built in this installation"


def run(command: list[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run ``command``; its output, or a failure showing it."""
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{command[:4]} did not finish in {timeout:.0f} s:\n{exc.stdout}\n{exc.stderr}") from None
    output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"{command[:4]} failed ({done.returncode}):\n{output}"
    return done.stdout


def clean_env() -> dict[str, str]:
    """The environment without anything that would put the checkout on sys.path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def build_wheel(tmp_path: Path) -> tuple[Path, Path]:
    source, out = tmp_path / "source", tmp_path / "dist"
    for name in PACKAGING_INPUTS:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name,
                            ignore=shutil.ignore_patterns("node_modules", "__pycache__", "*.egg-info"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    # As `make wheel`: the sdist first, then the wheel from the sdist (so the sdist is proved too).
    run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], cwd=tmp_path, timeout=600,
        env=clean_env())
    (wheel,) = out.glob("flowyard-*.whl")
    (sdist,) = out.glob("flowyard-*.tar.gz")
    return wheel, sdist


def start_installed_server(tmp_path: Path, venv: Path) -> Server:
    """``flowyard serve`` of the venv on a free port (as browser_support.start_server,
    with the venv's executable and the working directory outside the checkout)."""
    data_dir, log, initial = tmp_path / "data", tmp_path / "server.log", tmp_path / "initial.json"
    initial.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {"name": "Installed from a wheel"}}))
    env = {**clean_env(), "FLOWYARD_USERNAME": USER, "FLOWYARD_PASSWORD": PASSWORD}
    command = [str(venv / "bin" / "flowyard"), "serve", "--data-dir", str(data_dir), "--port", "0",
               "--flow", str(initial)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"serving (http://127\.0\.0\.1:\d+)", log.read_text())
        if match:
            return Server(match.group(1), data_dir, process)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise AssertionError(f"the installed flowyard serve did not start:\n{log.read_text()}")


def test_wheel_installed_with_pip_serves_the_canvas(tmp_path: Path, page: Any) -> None:
    if not BUILT_CANVAS.is_file():
        pytest.fail(f"{BUILT_CANVAS} is missing: `make canvas` builds it (make test does)")
    wheel, sdist = build_wheel(tmp_path)

    files = zipfile.ZipFile(wheel).namelist()
    assert "flowyard/canvas_ui/web/dist/index.html" in files
    assets = [f for f in files if f.startswith("flowyard/canvas_ui/web/dist/assets/")]
    assert any(f.endswith(".js") for f in assets) and any(f.endswith(".css") for f in assets), assets
    assert [f for f in files if f.startswith("flowyard/canvas_ui/web/") and "/web/dist/" not in f] == [], (
        "only the built canvas goes in the wheel, not its sources")
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert any(m.endswith("/canvas_ui/web/dist/index.html") for m in members), "the sdist carries the built canvas"
    assert not any("/node_modules/" in m or "/web/src/" in m for m in members)

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path, timeout=120, env=clean_env())
    python = venv / "bin" / "python"
    # The development environment's pip installs into the new venv (no ensurepip: 8 s saved).
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-input", str(wheel)],
        cwd=tmp_path, timeout=600, env=clean_env())
    located = run([str(python), "-c", "import flowyard.canvas_ui.pages as p; print(p.__file__); print(p.DIST)"],
                  cwd=tmp_path, timeout=60, env=clean_env()).split("\n")
    module, dist = Path(located[0]), Path(located[1])
    assert module.is_relative_to(venv) and not module.is_relative_to(ROOT), module
    assert (dist / "index.html").is_file(), dist

    server = start_installed_server(tmp_path, venv)
    try:
        page.goto(server.url + "/")
        expect(page.get_by_role("form", name="Log in")).to_be_visible()  # the canvas's login, not the fallback's
        assert FALLBACK_TEXT not in page.content()
        log_in(page, server.url)  # the bundle from the wheel's assets runs: the canvas opens
        expect(page.get_by_test_id("toolbar")).to_be_visible()
    finally:
        stop_server(server)
    assert server.process.returncode == 0, (tmp_path / "server.log").read_text()[-3000:]
