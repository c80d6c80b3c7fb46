"""A self-signed certificate for the simulator's TLS mode (``Simulator(tls=True)``, ``--tls``).

Made once per process with the ``openssl`` command (Debian's ``openssl`` package), for
``127.0.0.1`` and ``localhost``, into a private temporary folder: clients that verify TLS refuse
it, unless told to trust ``cert_file`` (``REQUESTS_CA_BUNDLE``), which is what the tests check.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path


@functools.cache
def certificate() -> tuple[Path, Path]:
    """``(cert_file, key_file)`` of a fresh self-signed certificate valid for two days."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the simulator's TLS mode needs the openssl command (apt-get install openssl)")
    folder = Path(tempfile.mkdtemp(prefix="simulator-tls-"))
    atexit.register(shutil.rmtree, folder, True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=visionone-simulator",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context() -> ssl.SSLContext:
    cert, key = certificate()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def cert_file() -> Path:
    """The certificate a client must trust to verify the simulator (e.g. ``REQUESTS_CA_BUNDLE``)."""
    return certificate()[0]
