"""Outbound messages, one notifier per channel.

Twilio sends SMS and WhatsApp, the Messenger Send API sends Messenger messages.
A channel with no credentials gets, in development, the :class:`LogNotifier`,
which logs the message and appends it to a JSON-lines file, so what would have
been sent is still on record (the embedded default); anywhere else it gets the
:class:`UnavailableNotifier`, which sends nothing, writes nothing and fails
every send for good naming the missing settings, so a follow-up on it ends
"failed" with that reason in the console, never "sent" (and a phone code or a
message body is never written to a log).

A notifier raises :class:`DeliveryError` with ``permanent`` and ``opted_out``
telling the caller whether to try again. ``find_sent`` answers "did an earlier
attempt of this message get through?" when that attempt's outcome was lost
(the worker died mid-send), so a retry does not send it twice.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from backend.models import Channel
from backend.services.errors import Unavailable

if TYPE_CHECKING:
    from backend.services.customers import PhoneLink, PhoneNotice

log = logging.getLogger("beckon.notify")

#: Twilio error codes meaning "this recipient said STOP" (never retried).
TWILIO_OPT_OUT_CODES = frozenset({21610})
#: Twilio error codes that no retry can fix (bad number, not a mobile, ...).
TWILIO_PERMANENT_CODES = frozenset({21211, 21408, 21612, 21614, 63003, 63016})
TIMEOUT_SECONDS = 10
#: The most characters one message body may have on a channel: Twilio takes
#: 1600 (SMS and WhatsApp, sent by a notifier or answered in TwiML alike).
SMS_LIMIT = 1600
TEXT_LIMITS = {
    Channel.SMS: SMS_LIMIT,
    Channel.WHATSAPP: SMS_LIMIT,
    Channel.MESSENGER: 2000,
    Channel.TELEGRAM: 4096,
}
DEFAULT_TEXT_LIMIT = 4096
#: The settings each channel that messages are pushed on needs (all of them).
CHANNEL_SETTINGS: dict[Channel, tuple[str, ...]] = {
    Channel.SMS: ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_SMS_FROM"),
    Channel.WHATSAPP: (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_WHATSAPP_FROM",
    ),
    Channel.MESSENGER: ("MESSENGER_PAGE_ACCESS_TOKEN",),
    Channel.TELEGRAM: ("TELEGRAM_BOT_TOKEN",),
}
#: The code of a send refused because the channel cannot send at all.
UNAVAILABLE = "channel_unavailable"


def split(text: str, limit: int) -> list[str]:
    """Text cut into parts of at most ``limit`` characters, at line breaks
    or spaces where it can be."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


@dataclass(frozen=True)
class Outgoing:
    """One message to send. ``key`` is unique per message (the follow-up's
    send key); ``since`` is when its first attempt began."""

    channel: Channel
    to: str
    body: str
    key: str
    since: datetime
    #: Messenger only: None inside the 24-hour window, else the message tag.
    tag: str | None = None
    #: Choices offered with the message, as (title, payload): Messenger quick
    #: replies, Telegram buttons; channels without buttons have them in words.
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Receipt:
    """What the channel answered: its id for the message and the status."""

    external_id: str
    status: str


class DeliveryError(Exception):
    """A send failed. ``permanent``: do not retry; ``opted_out``: the
    recipient has unsubscribed on this channel."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        permanent: bool = False,
        opted_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent or opted_out
        self.opted_out = opted_out


class Notifier(Protocol):
    name: str

    def send(self, message: Outgoing) -> Receipt: ...

    def find_sent(self, message: Outgoing) -> Receipt | None: ...

    def parts(self, channel: Channel, text: str) -> list[str]:
        """``text`` in the messages it takes on ``channel``."""
        ...

    def acknowledge(self, payload: dict[str, Any]) -> None:
        """Tell the channel an inbound message (its recorded payload) was
        answered, where it waits to be told."""
        ...


class _Notifier:
    """What notifiers do alike: cut a text at the channel's limit; nothing
    to acknowledge."""

    def parts(self, channel: Channel, text: str) -> list[str]:
        return split(text, TEXT_LIMITS.get(channel, DEFAULT_TEXT_LIMIT))

    def acknowledge(self, payload: dict[str, Any]) -> None:
        return None


class LogNotifier(_Notifier):
    """Logs each message and appends it to ``path`` (JSON lines); sends nothing.

    The file is the record: ``find_sent`` looks a message up there by its key.
    The last messages are also kept in memory (``sent``) for the console.
    """

    name = "log"

    def __init__(self, path: Path | None = None, remember: int = 200) -> None:
        self.path = Path(path) if path else None
        self.sent: deque[dict[str, Any]] = deque(maxlen=remember)
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> Receipt:
        record = {
            "channel": message.channel.value,
            "to": message.to,
            "body": message.body,
            "options": [list(o) for o in message.options],
            "key": message.key,
            "at": datetime.now().astimezone().isoformat(),
            "id": f"log-{message.key}",
        }
        with self._lock:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # one write() of one line: complete in the file or not there at all
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, (json.dumps(record) + "\n").encode())
                finally:
                    os.close(fd)
            self.sent.append(record)
        log.info(
            "%s to %s (log only, no credentials configured): %s",
            message.channel.value,
            message.to,
            message.body,
        )
        return Receipt(record["id"], "logged")

    def find_sent(self, message: Outgoing) -> Receipt | None:
        for record in self.records():
            if record.get("key") == message.key:
                return Receipt(record["id"], "logged")
        return None

    def records(self) -> list[dict[str, Any]]:
        """Every message in the file, oldest first."""
        if self.path is None or not self.path.exists():
            return list(self.sent)
        with open(self.path) as fh:
            return [json.loads(line) for line in fh if line.strip()]


class UnavailableNotifier(_Notifier):
    """A channel this process cannot send on: every send fails for good
    (``permanent``), saying why, and nothing of the message is kept."""

    name = "unavailable"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def send(self, message: Outgoing) -> Receipt:
        raise DeliveryError(self.reason, code=UNAVAILABLE, permanent=True)

    def find_sent(self, message: Outgoing) -> Receipt | None:
        return None  # nothing was ever sent on it


class _RedirectingHttpClient(TwilioHttpClient):
    """Sends Twilio's requests to another base URL (a regional proxy or a
    Twilio-compatible test server) keeping their paths."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(timeout=TIMEOUT_SECONDS, **kwargs)
        self.base = urlsplit(base_url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):
        parts = urlsplit(url)._replace(scheme=self.base.scheme, netloc=self.base.netloc)
        return super().request(method, parts.geturl(), *args, **kwargs)


class TwilioNotifier(_Notifier):
    """SMS and WhatsApp through Twilio's Messages API (the ``twilio`` library)."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        sms_from: str = "",
        whatsapp_from: str = "",
        status_callback: str = "",
        base_url: str = "",
    ) -> None:
        http_client = (
            _RedirectingHttpClient(base_url)
            if base_url
            else TwilioHttpClient(timeout=TIMEOUT_SECONDS)
        )
        self.client = TwilioClient(account_sid, auth_token, http_client=http_client)
        self.sms_from = sms_from
        self.whatsapp_from = whatsapp_from
        self.status_callback = status_callback

    def _sender(self, channel: Channel) -> dict[str, str]:
        sender = self.whatsapp_from if channel == Channel.WHATSAPP else self.sms_from
        if not sender:
            raise DeliveryError(
                f"no Twilio sender configured for {channel.value}", permanent=True
            )
        if sender.startswith("MG"):
            return {"messaging_service_sid": sender}
        return {"from_": sender}

    def send(self, message: Outgoing) -> Receipt:
        extra = (
            {"status_callback": self.status_callback} if self.status_callback else {}
        )
        with _twilio_errors():
            created = self.client.messages.create(
                to=message.to,
                body=message.body,
                **self._sender(message.channel),
                **extra,
            )
        return Receipt(created.sid, created.status or "queued")

    def find_sent(self, message: Outgoing) -> Receipt | None:
        """The message if Twilio has it: same recipient and body, created since
        the first attempt (Twilio has no idempotency key for messages)."""
        sender = self._sender(message.channel)
        with _twilio_errors():
            recent = self.client.messages.list(
                to=message.to, from_=sender.get("from_"), limit=50
            )
        since = message.since - timedelta(minutes=1)
        for sent in recent:
            created = sent.date_created
            if sent.body == message.body and (created is None or created >= since):
                return Receipt(sent.sid, sent.status or "queued")
        return None


@contextmanager
def _twilio_errors() -> Iterator[None]:
    """Twilio's and the network's exceptions as :class:`DeliveryError`."""
    try:
        yield
    except TwilioRestException as exc:
        raise _twilio_error(exc) from exc
    except requests.RequestException as exc:
        raise DeliveryError(f"Twilio unreachable: {exc}") from exc


def _twilio_error(exc: TwilioRestException) -> DeliveryError:
    code = exc.code
    text = f"Twilio {exc.status}: {exc.msg}" + (f" (error {code})" if code else "")
    if code in TWILIO_OPT_OUT_CODES:
        return DeliveryError(text, code=str(code), opted_out=True)
    transient = exc.status == 429 or exc.status >= 500
    return DeliveryError(
        text,
        code=str(code or exc.status),
        permanent=not transient or code in TWILIO_PERMANENT_CODES,
    )


class MessengerNotifier(_Notifier):
    """Messenger through the Send API; outside the 24-hour window only with a
    message tag (the caller decides which)."""

    name = "messenger"

    def __init__(self, page_access_token: str, base_url: str) -> None:
        self.token = page_access_token
        self.url = base_url.rstrip("/") + "/me/messages"
        self.http = requests.Session()

    def send(self, message: Outgoing) -> Receipt:
        payload: dict[str, Any] = {
            "recipient": {"id": message.to},
            "message": {"text": message.body},
            "messaging_type": "RESPONSE",
        }
        if message.tag:
            payload["messaging_type"] = "MESSAGE_TAG"
            payload["tag"] = message.tag
        if message.options:
            # the Send API takes up to 13 quick replies, titles up to 20 characters
            payload["message"]["quick_replies"] = [
                {"content_type": "text", "title": title[:20], "payload": value}
                for title, value in message.options[:13]
            ]
        try:
            response = self.http.post(
                self.url,
                params={"access_token": self.token},
                json=payload,
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"Messenger unreachable: {exc}") from exc
        body = _json_or_empty(response)
        if response.status_code >= 400:
            error = body.get("error") or {}
            code = error.get("code")
            text = f"Messenger {response.status_code}: {error.get('message', '')}"
            # Graph API codes 1, 2, 4 and 613 are temporary; others (551: the
            # person is unavailable, 10: outside the window) will not change
            transient = response.status_code >= 500 or code in (1, 2, 4, 613)
            raise DeliveryError(
                text, code=str(code or response.status_code), permanent=not transient
            )
        return Receipt(body.get("message_id", ""), "sent")

    def find_sent(self, message: Outgoing) -> Receipt | None:
        # The Send API cannot be asked what it delivered: a retry after a lost
        # outcome sends again (at least once, in that window only).
        return None


class TelegramNotifier(_Notifier):
    """Telegram through the Bot API's ``sendMessage``; options become an
    inline keyboard whose buttons send their payload back as callback data."""

    name = "telegram"

    def __init__(self, bot_token: str, base_url: str) -> None:
        self.url = f"{base_url.rstrip('/')}/bot{bot_token}"
        self.http = requests.Session()

    def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """One Bot API method; its ``result``, or :class:`DeliveryError`."""
        try:
            response = self.http.post(
                f"{self.url}/{method}", json=body, timeout=TIMEOUT_SECONDS
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"Telegram unreachable: {exc}") from exc
        answer = _json_or_empty(response)
        if not answer.get("ok"):
            code = answer.get("error_code") or response.status_code
            text = f"Telegram {code}: {answer.get('description', '')}"
            # 429 (slow down) and 5xx pass; 400/403 (blocked, no such chat) stay
            transient = code == 429 or int(code) >= 500
            raise DeliveryError(
                text,
                code=str(code),
                permanent=not transient,
                opted_out=code == 403,
            )
        return answer.get("result") or {}

    def send(self, message: Outgoing) -> Receipt:
        body: dict[str, Any] = {"chat_id": message.to, "text": message.body}
        if message.options:
            # one button a row; callback_data is at most 64 bytes
            body["reply_markup"] = {
                "inline_keyboard": [
                    [
                        {
                            "text": title,
                            "callback_data": value.encode()[:64].decode(
                                errors="ignore"
                            ),
                        }
                    ]
                    for title, value in message.options
                ]
            }
        result = self.call("sendMessage", body)
        return Receipt(str(result.get("message_id", "")), "sent")

    def find_sent(self, message: Outgoing) -> Receipt | None:
        return None  # the Bot API cannot be asked what it delivered

    def acknowledge(self, payload: dict[str, Any]) -> None:
        """Stop the spinner Telegram shows on a pressed button
        (``answerCallbackQuery``); a failure is only logged."""
        pressed = payload.get("callback_query_id")
        if not pressed:
            return
        try:
            self.call("answerCallbackQuery", {"callback_query_id": pressed})
        except DeliveryError as exc:
            log.info("answerCallbackQuery %s: %s", pressed, exc)


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def missing_settings(config: Any) -> dict[Channel, list[str]]:
    """The channels of :data:`CHANNEL_SETTINGS` that cannot send, with the
    settings each lacks."""
    missing = {
        channel: [name for name in names if not getattr(config, name)]
        for channel, names in CHANNEL_SETTINGS.items()
    }
    return {channel: names for channel, names in missing.items() if names}


class Notifiers:
    """The notifier for each channel: real where credentials are configured;
    everywhere else the log notifier in development, and elsewhere (production)
    one that fails every send (``unavailable`` names those channels and their
    missing settings)."""

    def __init__(
        self,
        log_notifier: LogNotifier | None,
        by_channel: dict[Channel, Any],
        unavailable: dict[Channel, list[str]] | None = None,
    ):
        #: None outside development: nothing is ever only logged there
        self.log = log_notifier
        self._by_channel = by_channel
        self.unavailable = unavailable or {}

    @classmethod
    def from_config(cls, config: Any) -> Notifiers:
        missing = missing_settings(config)
        by_channel: dict[Channel, Any] = {}
        if config.TWILIO_ACCOUNT_SID and config.TWILIO_AUTH_TOKEN:
            twilio = TwilioNotifier(
                config.TWILIO_ACCOUNT_SID,
                config.TWILIO_AUTH_TOKEN,
                sms_from=config.TWILIO_SMS_FROM,
                whatsapp_from=config.TWILIO_WHATSAPP_FROM,
                status_callback=(
                    config.PUBLIC_URL + "/webhooks/twilio/status"
                    if config.PUBLIC_URL
                    else ""
                ),
                base_url=config.TWILIO_API_BASE_URL,
            )
            for channel in (Channel.SMS, Channel.WHATSAPP):
                if channel not in missing:
                    by_channel[channel] = twilio
        if Channel.TELEGRAM not in missing:
            by_channel[Channel.TELEGRAM] = TelegramNotifier(
                config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_API_BASE_URL
            )
        if Channel.MESSENGER not in missing:
            by_channel[Channel.MESSENGER] = MessengerNotifier(
                config.MESSENGER_PAGE_ACCESS_TOKEN, config.MESSENGER_API_BASE_URL
            )
        if config.ENV == "development":
            return cls(LogNotifier(config.NOTIFY_LOG), by_channel)
        for channel, names in missing.items():
            by_channel[channel] = UnavailableNotifier(
                f"{channel.value} is off: set {', '.join(names)} to send on it"
            )
        return cls(None, by_channel, missing)

    def for_channel(self, channel: Channel) -> Notifier:
        found = self._by_channel.get(channel) or self.log
        if found is None:  # a channel nothing is pushed on (voice, web chat...)
            return UnavailableNotifier(f"messages cannot be sent on {channel.value}")
        return found

    def describe_unavailable(self) -> str | None:
        """What to tell at startup about the channels that cannot send."""
        if not self.unavailable:
            return None
        channels = "; ".join(
            f"{channel.value} (set {', '.join(names)})"
            for channel, names in self.unavailable.items()
        )
        return (
            f"CHANNELS OFF: {channels}. Nothing is sent on them: their "
            "follow-ups fail (the console lists them, with the reason, to retry "
            "once configured) and no phone code can be texted without SMS."
        )


def send_phone_code(notifiers: Notifiers, link: PhoneLink) -> None:
    """Text the code of a phone link (``customers.start_phone_link``) at once:
    the person is waiting for it, so it is sent now, not swept."""
    notifiers.for_channel(Channel.SMS).send(
        Outgoing(
            channel=Channel.SMS,
            to=link.phone,
            body=link.text,
            key=link.key,
            since=link.verification.created_at,
        )
    )


def code_not_sent(link: PhoneLink, error: DeliveryError) -> Unavailable:
    """What to answer when the text of a phone code failed (once
    ``customers.phone_code_not_sent`` has undone the code): 502 if the SMS
    provider refused the number, 503 (try again) if it was out of reach."""
    log.warning("phone code %s to %s not sent: %s", link.key, link.phone, error)
    if error.code == UNAVAILABLE:  # this server has no SMS credentials
        return Unavailable(
            "codes cannot be texted: texts are off on this server (no SMS "
            "provider is set up)",
            permanent=True,
            code="code_not_sent",
        )
    if error.permanent:
        return Unavailable(
            f"the code could not be texted to {link.phone}: the SMS provider "
            "refused the number; check it, or give another",
            permanent=True,
            code="code_not_sent",
        )
    return Unavailable(
        "the code could not be texted just now; nothing was kept: ask for a "
        "new one in a minute",
        code="code_not_sent",
    )


def send_phone_notice(notifiers: Notifiers, notice: PhoneNotice) -> bool:
    """Text a number's owner that its linking was locked
    (``customers.WrongCode.notice``); a failure is logged, never raised (the
    lock holds either way). Whether it went."""
    try:
        notifiers.for_channel(Channel.SMS).send(
            Outgoing(
                channel=Channel.SMS,
                to=notice.phone,
                body=notice.text,
                key=notice.key,
                since=datetime.now().astimezone(),
            )
        )
    except DeliveryError as exc:
        log.warning("lock notice %s to %s not sent: %s", notice.key, notice.phone, exc)
        return False
    return True
