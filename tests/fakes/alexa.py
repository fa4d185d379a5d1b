"""Standing in for Amazon: a signing chain Alexa's could be, requests signed
with it, and Alexa's APIs (the directive service a progressive response goes
to, the Settings API that tells a device's time zone).

The chain is a test root CA, an intermediate and an end certificate issued
to echo-api.amazon.com, as Amazon's is; the app trusts the root through
``ALEXA_EXTRA_TRUST_ROOTS`` and fetches the chain from the URL in the
request's header (``fetch_certificate_chain`` is replaced, the HTTP boundary).
Requests are the envelopes of tests/fixtures/alexa with our intent,
slots, skill id and a current timestamp put in.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import ssl
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.fakes.http import read_json, send_json
from tests.helpers import fixture_path

SKILL_ID = "amzn1.ask.skill.c966b8cb-80bc-4482-8ddf-63af59ca07fc"
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem"
DOMAIN = "echo-api.amazon.com"
DEVICE_ID = "amzn1.ask.device.TESTDEVICE"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signs_certificates,
        content_commitment=False,
        key_encipherment=not signs_certificates,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _ca(
    name: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    now: datetime,
) -> x509.Certificate:
    """A CA certificate: self-signed (a root) or issued by ``issuer``."""
    issuer_name = issuer[0].subject if issuer else name
    issuer_key = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if not issuer else 0),
            True,
        )
        .add_extension(_key_usage(signs_certificates=True), True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False
        )
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _leaf(
    domain: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey],
    now: datetime,
    starts: timedelta,
    ends: timedelta,
    san: bool,
) -> x509.Certificate:
    """The signing certificate for ``domain``, valid from now+starts to now+ends."""
    issuer_cert, issuer_key = issuer
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(domain))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + starts)
        .not_valid_after(now + ends)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(_key_usage(signs_certificates=False), True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            False,
        )
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(domain)]), False
        )
    return builder.sign(issuer_key, hashes.SHA256())


class SigningChain:
    """A root CA, an intermediate it issued and a certificate for ``domain``
    the intermediate issued, as Amazon's chain is (root -> intermediate ->
    echo-api.amazon.com); ``intermediate=False`` lets the root sign the leaf.

    ``starts`` and ``ends`` place the leaf's validity around now (a leaf that
    has expired, or is not valid yet); ``san=False`` leaves out its
    subjectAltName (the name is then only in the subject's CN).
    """

    def __init__(
        self,
        domain: str = DOMAIN,
        *,
        intermediate: bool = True,
        starts: timedelta = timedelta(days=-1),
        ends: timedelta = timedelta(days=90),
        san: bool = True,
        issued_by: SigningChain | None = None,
    ) -> None:
        now = datetime.now(UTC)
        self.key = _key()
        if issued_by is not None:
            self.root_key, self.root = issued_by.root_key, issued_by.root
        else:
            self.root_key = _key()
            self.root = _ca(_name("Beckon Test Root CA"), self.root_key, None, now)
        self.intermediates: list[x509.Certificate] = []
        signer_key, signer = self.root_key, self.root
        if intermediate:
            signer_key = _key()
            signer = _ca(
                _name("Beckon Test Intermediate CA"),
                signer_key,
                (self.root, self.root_key),
                now,
            )
            self.intermediates.append(signer)
        self.leaf = _leaf(
            domain, self.key, (signer, signer_key), now, starts, ends, san
        )

    def save(self, directory: Path) -> None:
        """Keys and certificates as PEM files (another process loads them)."""
        pem = serialization.Encoding.PEM
        private = serialization.PrivateFormat.PKCS8
        plain = serialization.NoEncryption()
        (directory / "key.pem").write_bytes(self.key.private_bytes(pem, private, plain))
        (directory / "chain.pem").write_bytes(self.chain_pem)
        self.write_root(directory / "root.pem")

    @classmethod
    def load(cls, directory: Path) -> SigningChain:
        chain = cls.__new__(cls)
        chain.key = serialization.load_pem_private_key(
            (directory / "key.pem").read_bytes(), password=None
        )
        chain.leaf, *chain.intermediates = x509.load_pem_x509_certificates(
            (directory / "chain.pem").read_bytes()
        )
        chain.root = x509.load_pem_x509_certificate(
            (directory / "root.pem").read_bytes()
        )
        return chain

    @property
    def chain_pem(self) -> bytes:
        """The PEM file Amazon serves: the leaf first, then its intermediates."""
        return b"".join(
            c.public_bytes(serialization.Encoding.PEM)
            for c in (self.leaf, *self.intermediates)
        )

    def write_root(self, path: Path) -> Path:
        path.write_bytes(self.root.public_bytes(serialization.Encoding.PEM))
        return path

    def sign(self, body: bytes) -> str:
        signature = self.key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def headers(self, body: bytes, cert_url: str = CERT_URL) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "SignatureCertChainUrl": cert_url,
            "Signature-256": self.sign(body),
        }


def envelope(
    fixture: str,
    *,
    user_id: str,
    intent: str | None = None,
    slots: dict[str, Any] | None = None,
    dialog_state: str | None = None,
    attributes: dict[str, Any] | None = None,
    new: bool = False,
    locale: str = "en-US",
    api_endpoint: str | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """A fixture's envelope made ours: skill, user, intent, slots, time."""
    doc = copy.deepcopy(json.loads(fixture_path("alexa", fixture).read_text()))
    stamp = (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    system = doc.setdefault("context", {}).setdefault("System", {})
    system["application"] = {"applicationId": SKILL_ID}
    system["user"] = {"userId": user_id}
    if api_endpoint:
        system["apiEndpoint"] = api_endpoint
        system["apiAccessToken"] = "test-api-access-token"
        system.setdefault("device", {"deviceId": DEVICE_ID, "supportedInterfaces": {}})
    else:
        system.pop("apiEndpoint", None)
        system.pop("apiAccessToken", None)
    session = doc.setdefault("session", {})
    session.update(
        {
            "new": new,
            "application": {"applicationId": SKILL_ID},
            "user": {"userId": user_id},
            "attributes": attributes or {},
        }
    )
    request = doc["request"]
    request["requestId"] = f"amzn1.echo-api.request.{uuid.uuid4()}"
    request["timestamp"] = stamp
    request["locale"] = locale
    if intent is not None:
        request["intent"] = {
            "name": intent,
            "confirmationStatus": "NONE",
            "slots": {
                name: _slot(name, value) for name, value in (slots or {}).items()
            },
        }
    if dialog_state is not None:
        request["dialogState"] = dialog_state
    else:
        request.pop("dialogState", None)
    return doc


def _slot(name: str, value: Any) -> dict[str, Any]:
    """A slot as Alexa sends it; ``(words, id)`` adds an ER_SUCCESS_MATCH,
    ``(words, None)`` an ER_SUCCESS_NO_MATCH."""
    if isinstance(value, tuple):
        words, value_id = value
        if value_id is None:  # words the slot type does not know
            return {
                "name": name,
                "value": words,
                "confirmationStatus": "NONE",
                "resolutions": {
                    "resolutionsPerAuthority": [
                        {
                            "authority": (
                                f"amzn1.er-authority.echo-sdk.{SKILL_ID}.{name}"
                            ),
                            "status": {"code": "ER_SUCCESS_NO_MATCH"},
                        }
                    ]
                },
            }
        return {
            "name": name,
            "value": words,
            "confirmationStatus": "NONE",
            "resolutions": {
                "resolutionsPerAuthority": [
                    {
                        "authority": f"amzn1.er-authority.echo-sdk.{SKILL_ID}.{name}",
                        "status": {"code": "ER_SUCCESS_MATCH"},
                        "values": [{"value": {"name": words, "id": value_id}}],
                    }
                ]
            },
        }
    slot: dict[str, Any] = {"name": name, "confirmationStatus": "NONE"}
    if value is not None:
        slot["value"] = str(value)
    return slot


class FakeAlexaApi:
    """Alexa's APIs at ``context.System.apiEndpoint``, over HTTPS: the
    directive service (``POST /v1/directives``, a progressive response) and
    the Settings API's device time zone
    (``GET /v2/devices/{deviceId}/settings/System.timeZone``: a JSON string,
    or an error ``{"code", "message"}``, as Amazon's reference gives them).

    ``zone`` is what the device has set; ``settings_status`` other than 200
    makes the Settings API fail that way.
    """

    SETTINGS_PATH = re.compile(r"^/v2/devices/([^/]+)/settings/System\.timeZone$")

    def __init__(self, tls_dir: Path, zone: str = "America/Chicago") -> None:
        self.received: list[dict[str, Any]] = []  # directives
        self.zone_asked: list[dict[str, Any]] = []
        self.zone = zone
        self.settings_status = 200
        chain = SigningChain(domain="localhost", intermediate=False)
        key_file, cert_file = tls_dir / "api-key.pem", tls_dir / "api-cert.pem"
        key_file.write_bytes(
            chain.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        cert_file.write_bytes(chain.chain_pem)
        self.ca_file = chain.write_root(tls_dir / "api-ca.pem")
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                fake.received.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "body": read_json(self),
                    }
                )
                self.send_response(204)
                self.end_headers()

            def do_GET(self):  # noqa: N802 - http.server's name
                asked = fake.SETTINGS_PATH.match(self.path)
                if asked is None:
                    send_json(self, 404, {"code": "NOT_FOUND", "message": self.path})
                    return
                fake.zone_asked.append(
                    {
                        "device": asked[1],
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                if fake.settings_status != 200:
                    send_json(
                        self,
                        fake.settings_status,
                        {"code": "INTERNAL_ERROR", "message": "try again later"},
                    )
                elif fake.zone is None:  # nothing set for the device
                    self.send_response(204)
                    self.end_headers()
                else:
                    send_json(self, 200, fake.zone)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
