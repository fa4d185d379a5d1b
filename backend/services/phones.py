"""Phone numbers as people write them, read into E.164 (Google's libphonenumber).

One reading for every entry point that takes a number (the API, the JSONL
import, the console, voice): ``415-286-4371`` is read in the marketplace's
default region (``BECKON_DEFAULT_REGION``), ``+44 20 7946 0958`` as written.
A number is stored as E.164 only if it is a valid one; otherwise
:class:`Invalid` says why in words. Numbers the carriers give (Twilio's From,
a phone gateway's caller id) are E.164 already: :func:`is_e164` checks them.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import (
    CountryCodeSource,
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    ValidationResult,
)

from backend.services.errors import Invalid

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_REGION = re.compile(r"^[A-Z]{2}$")
#: how much of a refused number an error quotes back
_QUOTED = 40

_TOO_SHORT = "{} is too short to be a phone number"
_TOO_LONG = "{} is too long to be a phone number"
_WHY_NOT = {
    NumberParseException.NOT_A_NUMBER: "{} is not a phone number",
    NumberParseException.INVALID_COUNTRY_CODE: "{} does not start with a known "
    "country code",
    NumberParseException.TOO_SHORT_AFTER_IDD: _TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: _TOO_SHORT,
    NumberParseException.TOO_LONG: _TOO_LONG,
}
_NOT_POSSIBLE = {
    ValidationResult.TOO_SHORT: _TOO_SHORT,
    ValidationResult.TOO_LONG: _TOO_LONG,
    ValidationResult.INVALID_LENGTH: "{} has the wrong number of digits for a "
    "phone number",
    ValidationResult.INVALID_COUNTRY_CODE: "{} does not start with a known "
    "country code",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "{} is a local number: give it "
    "with its area code",
}


def is_e164(value: str | None) -> bool:
    """Whether ``value`` is written in E.164 (``+14152864371``), as carriers
    give a caller's number; it says nothing of whether the number exists."""
    return bool(value) and bool(_E164.match(value))


def is_region(code: str) -> bool:
    """Whether ``code`` is an ISO 3166 alpha-2 region that has phone numbers."""
    return bool(_REGION.match(code)) and code in phonenumbers.SUPPORTED_REGIONS


def to_e164(text: str, region: str) -> str:
    """``text`` as an E.164 number; a national number is read as one of
    ``region``'s (ISO 3166 alpha-2).

    National (``(415) 286 4371``) and international (``+44 20 7946 0958``,
    ``011 44 ...``, ``0044 ...``) forms are taken. Refused with the reason in
    words (:class:`Invalid`): an empty text, one too short or too long, a
    number no region has, letters, and an extension (Beckon texts and calls
    the number itself and cannot dial one).
    """
    written = text.strip()
    if not written:
        raise _refused("the phone number is empty")
    said = _quoted(written)
    number = _parsed(written, region, said)
    if (
        _national(number)
        and written.startswith("00")
        and not phonenumbers.is_valid_number(number)
    ):
        # "00" is the international prefix in most of the world, though not
        # in every region (the US dials 011): "0044 20 ..." is a UK number
        number = _parsed("+" + written[2:], region, said)
    if number.extension:
        raise _refused(
            f"{said} has an extension ({number.extension}): give the number "
            "alone, Beckon cannot dial an extension"
        )
    if any(ch.isalpha() for ch in written):
        raise _refused(f"{said} has letters: write the number in digits")
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in _NOT_POSSIBLE:
        raise _refused(_NOT_POSSIBLE[possible].format(said))
    if not phonenumbers.is_valid_number(number):
        if _national(number):
            raise _refused(
                f"{said} is not a valid {region} number (a number from "
                "elsewhere starts with + and its country code)"
            )
        raise _refused(f"{said} is not a valid number")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def extension_apart(text: str, region: str) -> tuple[str, str | None]:
    """An office number and its extension apart ("650-474-2130 ext. 4" ->
    "+16504742130", "4"); the text as it is, and None, when it has none or
    is no number (:func:`to_e164` then says why)."""
    try:
        number = phonenumbers.parse(text.strip(), region)
    except NumberParseException:
        return text, None
    if not number.extension:
        return text, None
    extension = number.extension
    number.extension = None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164), extension


def _parsed(written: str, region: str, said: str) -> PhoneNumber:
    try:
        return phonenumbers.parse(written, region, keep_raw_input=True)
    except NumberParseException as exc:
        why = _WHY_NOT.get(exc.error_type, "{} is not a phone number")
        raise _refused(why.format(said)) from exc


def _national(number: PhoneNumber) -> bool:
    """Whether ``number`` was read as one of the default region's (written
    without a country code)."""
    return number.country_code_source == CountryCodeSource.FROM_DEFAULT_COUNTRY


def _refused(message: str) -> Invalid:
    return Invalid(message, code="invalid_phone")


def _quoted(written: str) -> str:
    if len(written) > _QUOTED:
        written = written[: _QUOTED - 1] + "…"
    return f"'{written}'"


def region_of(e164: str) -> str | None:
    """The region (ISO 3166 alpha-2) a number in E.164 belongs to, as
    libphonenumber reads it: ``+14155550123`` is US, ``+12685550123`` Antigua
    (AG) though both start with +1. None for a number of no one region (a
    satellite or international service number, +881, +882, +800...)."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and is_region(region) else None


def region_name(code: str | None, locale: str = "en") -> str:
    """A region's name in ``locale``'s language ("GB" -> "United Kingdom"),
    the code itself if Babel has none."""
    from backend.services.texts import locale_of

    if not code:
        return "no one country"
    return locale_of(locale).territories.get(code, code)
