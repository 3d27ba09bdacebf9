"""``flowyard serve``: the engine and the HTTP API in one ``trio.run``.

Whatever the command line can get wrong (the TLS files, the address to listen
on) is checked before the data directory is opened, so a refused start touches
nothing and leaves the directory free for the next attempt.
"""

from __future__ import annotations

import errno
import functools
import socket
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import trio
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from flowyard.canvas_ui.app import create_app
from flowyard.canvas_ui.auth import AuthManager, check_credentials
from flowyard.canvas_ui.guard import HostPolicy
from flowyard.runtime.sdk import ConfigurationError
from flowyard.runtime.service import FlowService
from flowyard.runtime.shutdown import DEFAULT_GRACE_SECONDS, stop_signals

__all__ = ["AddressInUseError", "check_tls_files", "serve"]


class AddressInUseError(ConfigurationError):
    """Another process already listens on ``host:port``. Nothing was touched."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"cannot listen on {host}:{port}: the port is already in use (by another program or "
                         "another flowyard); choose another port with --port")
        self.host = host
        self.port = port


def check_tls_files(certfile: Path | None, keyfile: Path | None) -> bool:
    """Whether TLS is asked for: False when neither file is given, True when both
    are readable PEM files holding a certificate (chain) and its unencrypted
    private key. Raises ``ConfigurationError`` naming the option and the file
    otherwise (one given without the other, unreadable, not PEM, a passphrase-
    protected key, a key that does not belong to the certificate)."""
    if certfile is None and keyfile is None:
        return False
    if keyfile is None:
        raise ConfigurationError("--certfile needs --keyfile: TLS needs both the certificate and its private key")
    if certfile is None:
        raise ConfigurationError("--keyfile needs --certfile: TLS needs both the certificate and its private key")
    cert_pem, key_pem = _read(certfile, "--certfile"), _read(keyfile, "--keyfile")
    try:
        certificate = x509.load_pem_x509_certificates(cert_pem)[0]
    except ValueError:
        raise ConfigurationError(f"--certfile {certfile} holds no PEM certificate "
                                 "(expected a -----BEGIN CERTIFICATE----- block)") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        # Loading it later would make OpenSSL prompt for the passphrase on the terminal.
        raise ConfigurationError(f"--keyfile {keyfile} is protected by a passphrase; flowyard needs the key "
                                 "unencrypted (keep the file readable only by its owner)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(f"--keyfile {keyfile} holds no PEM private key "
                                 "(expected a -----BEGIN ... PRIVATE KEY----- block)") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.DER, public)
            != certificate.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise ConfigurationError(f"--keyfile {keyfile} is not the private key of the certificate in "
                                 f"--certfile {certfile}")
    return True


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the {option} file {path}: {exc.strerror or exc}") from None


def _listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not yet listening), so that a taken port
    is reported before anything else happens and port 0 yields the port served."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                              flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ConfigurationError(f"--host {host!r} is not an address to listen on: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        # As hypercorn does: a restart may reuse a port whose old connections linger in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUseError(host, port) from None
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


async def serve(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    initial_flow: Path | None = None,
    durability: str = "os",
    certfile: Path | None = None,
    keyfile: Path | None = None,
    engine_options: Mapping[str, Any] | None = None,
    allowed_hosts: Iterable[str] = (),
    stop_timeout: float = DEFAULT_GRACE_SECONDS,
    out: TextIO = sys.stdout,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Open the data directory, run the engine and the API until SIGINT/SIGTERM
    (or cancellation), then shut down cleanly. Reports the bound URLs.

    With ``certfile`` and ``keyfile`` the API speaks HTTPS only. ``engine_options``
    go to the ``Engine`` (provenance retention limits). ``allowed_hosts``: names
    besides the loopback ones and ``host`` that clients may use in ``Host``.
    A stop that takes longer than ``stop_timeout`` seconds ends the process
    (``shutdown.EXIT_FORCED``). Raises ``ConfigurationError`` (bad TLS files,
    address in use: ``AddressInUseError``, damaged credentials) or
    ``RepositoryError`` (data directory in use) before touching the data directory.
    """
    tls = check_tls_files(certfile, keyfile)
    hosts = HostPolicy(host, allowed_hosts)
    check_credentials(data_dir)
    stopping = trio.Event()

    def on_signal(signum: int) -> None:
        out.write("stopping...\n")
        out.flush()
        stopping.set()

    with _listen_socket(host, port) as sock, stop_signals(on_signal, grace=stop_timeout):
        service = FlowService.open(data_dir, initial_flow=initial_flow, durability=durability,
                                   engine_options=engine_options)
        try:
            auth = AuthManager(data_dir)
            app = create_app(service, auth, hosts=hosts, tls=tls)
            config = Config()
            if tls:
                config.certfile, config.keyfile = str(certfile), str(keyfile)
            config.graceful_timeout = 1.0
            config.accesslog = None
            config.loglevel = "WARNING"  # its "Running on" line would repeat ours; errors still show
            stop = trio.Event()
            async with trio.open_nursery() as nursery:
                await nursery.start(service.run)
                # hypercorn adopts the bound socket (and closes it); detached, ours no longer owns it.
                config.bind = [f"fd://{sock.detach()}"]
                binds = await nursery.start(functools.partial(hypercorn_serve, app, config,  # type: ignore[arg-type]
                                                              shutdown_trigger=stop.wait))
                out.write(f"flowyard serving {', '.join(binds)} (data in {data_dir}). Ctrl-C stops.\n")
                change = f"flowyard set-credentials --data-dir {data_dir}"
                if auth.generated_password:
                    out.write(f"log in as {auth.username!r} with password {auth.generated_password!r} "
                              f"(generated at this first start and shown only now; change it with: {change})\n")
                else:
                    out.write(f"log in as {auth.username!r} (forgot the password? set a new one with: {change})\n")
                out.flush()
                task_status.started(list(binds))
                await stopping.wait()
                stop.set()
                service.request_stop()
        finally:
            service.close()
    out.write("stopped cleanly\n")
