"""Checking that a request really comes from Alexa, as Amazon requires of a
skill hosted as a web service.

The checks and their constants are those of Amazon's ``ask-sdk-webservice-
support`` (the verifiers ``flask-ask-sdk`` mounts): the certificate chain URL
(https, s3.amazonaws.com, port 443, a path under /echo.api/), the chain itself
(valid now, up to a trusted root, issued to echo-api.amazon.com), the
``Signature-256`` of the raw body, and a timestamp at most 150 seconds old.

That package cannot be imported on this platform: it validates chains with
``certvalidator``, whose ``oscrypto`` 1.3.0 (the last release) fails to read
OpenSSL 3.0's version string once its patch number has two digits
(wbond/oscrypto#78, fixed only on its unreleased master). The same checks are
made here with ``cryptography``'s own path validation, and the chain is
fetched with a timeout (the SDK's ``urlopen`` has none) and cached.
"""

from __future__ import annotations

import base64
import binascii
import logging
import posixpath
import threading
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import certifi
import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

SIGNATURE_CERT_CHAIN_URL_HEADER = "SignatureCertChainUrl"
SIGNATURE_HEADER = "Signature-256"
CERT_CHAIN_URL_PROTOCOL = "https"
CERT_CHAIN_URL_HOSTNAME = "s3.amazonaws.com"
CERT_CHAIN_URL_STARTPATH = "/echo.api/"
CERT_CHAIN_URL_PORT = 443
CERT_CHAIN_DOMAIN = "echo-api.amazon.com"
MAX_NORMAL_REQUEST_TOLERANCE_SECONDS = 150
MAX_SKILL_EVENT_TOLERANCE_SECONDS = 3600
ALEXA_SKILL_EVENTS = frozenset(
    {
        "AlexaSkillEvent.SkillEnabled",
        "AlexaSkillEvent.SkillDisabled",
        "AlexaSkillEvent.SkillPermissionChanged",
        "AlexaSkillEvent.SkillPermissionAccepted",
        "AlexaSkillEvent.SkillAccountLinked",
    }
)
FETCH_TIMEOUT_SECONDS = 5


log = logging.getLogger(__name__)


class VerificationFailed(Exception):
    """The request did not pass a check; it must be refused with 400."""


def fetch_certificate_chain(url: str) -> bytes:
    """The PEM chain at ``url`` (Amazon's S3): the one call to the outside."""
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise VerificationFailed(
            f"could not load the certificate chain: {exc}"
        ) from exc
    return response.content


def validate_certificate_url(url: str) -> None:
    """Amazon's rules for ``SignatureCertChainUrl``."""
    parsed = urlparse(url)
    if parsed.scheme.lower() != CERT_CHAIN_URL_PROTOCOL:
        raise VerificationFailed(
            f"Signature Certificate URL has invalid protocol: {parsed.scheme}"
        )
    if (parsed.hostname or "").lower() != CERT_CHAIN_URL_HOSTNAME:
        raise VerificationFailed(
            f"Signature Certificate URL has invalid hostname: {parsed.hostname}"
        )
    path = posixpath.normpath(parsed.path)
    if not path.startswith(CERT_CHAIN_URL_STARTPATH):
        raise VerificationFailed(f"Signature Certificate URL has invalid path: {path}")
    try:
        port = parsed.port
    except ValueError as exc:
        raise VerificationFailed("Signature Certificate URL has invalid port") from exc
    if port is not None and port != CERT_CHAIN_URL_PORT:
        raise VerificationFailed(f"Signature Certificate URL has invalid port: {port}")


def trust_roots(extra_roots_file: str | None = None) -> list[x509.Certificate]:
    """The public roots (certifi's bundle), plus any from ``extra_roots_file``
    (a test CA for the test suite and the benchmark; never needed for Alexa)."""
    with warnings.catch_warnings():
        # a few old roots in the bundle have serials RFC 5280 now disallows
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        roots = x509.load_pem_x509_certificates(Path(certifi.where()).read_bytes())
    if extra_roots_file:
        roots += x509.load_pem_x509_certificates(Path(extra_roots_file).read_bytes())
    return roots


class AlexaRequestVerifier:
    """Signature and timestamp checks of one skill endpoint.

    Chains are cached per URL for as long as their signing certificate is
    valid, so a request costs one RSA verification, not a download.
    """

    def __init__(
        self,
        roots: list[x509.Certificate],
        *,
        fetch: Callable[[str], bytes] | None = None,
        verify_signature: bool = True,
        verify_timestamp: bool = True,
    ) -> None:
        self._store = Store(roots)
        self._fetch = fetch
        self.verify_signature = verify_signature
        self.verify_timestamp = verify_timestamp
        self._chains: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def verify(
        self, headers: Mapping[str, str], body: bytes, envelope: dict, now: datetime
    ) -> None:
        """Raise :class:`VerificationFailed` unless the request is Alexa's."""
        self.verify_body(headers, body, now)
        self.verify_envelope(envelope, now)

    def verify_body(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None:
        """The signature of the raw body: checked before it is parsed."""
        if self.verify_signature:
            self._check_signature(headers, body, now)

    def verify_envelope(self, envelope: dict, now: datetime) -> None:
        """The parsed request's timestamp."""
        if self.verify_timestamp:
            check_timestamp(envelope, now)

    def _check_signature(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None:
        url = headers.get(SIGNATURE_CERT_CHAIN_URL_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if not url or not signature:
            raise VerificationFailed(
                "Missing Signature/Certificate for the skill request"
            )
        signer = self._signing_certificate(url, now)
        try:
            signer.public_key().verify(
                base64.b64decode(signature, validate=True), body, PKCS1v15(), SHA256()
            )
        except (InvalidSignature, binascii.Error, ValueError) as exc:
            raise VerificationFailed("Request body is not valid") from exc

    def _signing_certificate(self, url: str, now: datetime) -> x509.Certificate:
        validate_certificate_url(url)
        with self._lock:
            cached = self._chains.get(url)
        if cached is not None and valid_at(cached, now):
            return cached
        pem = (self._fetch or fetch_certificate_chain)(url)
        try:
            chain = x509.load_pem_x509_certificates(pem)
        except ValueError as exc:
            raise VerificationFailed("Certificate chain is not valid") from exc
        leaf, intermediates = chain[0], chain[1:]
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now)
            .build_server_verifier(x509.DNSName(CERT_CHAIN_DOMAIN))
        )
        try:
            verifier.verify(leaf, intermediates)
        except VerificationError as exc:
            raise VerificationFailed(f"Certificate chain is not valid: {exc}") from exc
        with self._lock:
            self._chains[url] = leaf
        return leaf


def valid_at(certificate: x509.Certificate, now: datetime) -> bool:
    """``now`` is within the certificate's validity (both ends)."""
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


def check_timestamp(envelope: dict, now: datetime) -> None:
    """The request was made at most 150 seconds ago (an hour for skill events)."""
    request = envelope.get("request") or {}
    stamp = request.get("timestamp")
    if not stamp:
        raise VerificationFailed("Timestamp verification failed")
    try:
        made = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError as exc:
        raise VerificationFailed("Timestamp verification failed") from exc
    if made.tzinfo is None:
        made = made.replace(tzinfo=UTC)
    age = abs((now - made).total_seconds())
    if age <= MAX_NORMAL_REQUEST_TOLERANCE_SECONDS:
        return
    if request.get("type") in ALEXA_SKILL_EVENTS and age <= (
        MAX_SKILL_EVENT_TOLERANCE_SECONDS
    ):
        return
    raise VerificationFailed("Timestamp verification failed")


def verifier_from_config(config) -> AlexaRequestVerifier:
    """The verifier the app's settings ask for (checks on unless development
    turned them off)."""
    return AlexaRequestVerifier(
        trust_roots(config.ALEXA_EXTRA_TRUST_ROOTS or None),
        verify_signature=config.ALEXA_VERIFY_SIGNATURE,
        verify_timestamp=config.ALEXA_VERIFY_TIMESTAMP,
    )


def warn_if_checks_are_off(config) -> bool:
    """Log a warning when a check is off (only development may turn one off:
    ``backend.config`` refuses it elsewhere); True if one is off."""
    off = [
        name
        for name in ("ALEXA_VERIFY_SIGNATURE", "ALEXA_VERIFY_TIMESTAMP")
        if not getattr(config, name)
    ]
    if off:
        log.warning(
            "ALEXA REQUEST VERIFICATION IS OFF (%s=0, %s): anyone can post to "
            "/webhooks/alexa as any user. Never run like this outside development.",
            "=0, ".join(off),
            f"BECKON_ENV={config.ENV}",
        )
    return bool(off)
