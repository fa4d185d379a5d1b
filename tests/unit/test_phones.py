"""Phone numbers as operators and customers write them (backend.services.phones)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.schemas import PhoneLinkStart, ProviderUpdate, reading
from backend.services.errors import Invalid
from backend.services.phones import is_e164, is_region, to_e164


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("415-286-4371", "US", "+14152864371"),
        ("(415) 286 4371", "US", "+14152864371"),
        ("415.286.4371", "US", "+14152864371"),
        ("1-415-286-4371", "US", "+14152864371"),
        ("4152864371", "US", "+14152864371"),
        ("  +1 415 286 4371 ", "US", "+14152864371"),
        ("+14152864371", "US", "+14152864371"),
        ("001 415 286 4371", "US", "+14152864371"),  # "00": most of the world's
        ("011 44 20 7946 0958", "US", "+442079460958"),  # the US's own prefix
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("001 415 286 4371", "GB", "+14152864371"),
        ("+1 415 286 4371", "GB", "+14152864371"),
    ],
)
def test_national_and_international_forms_are_read_into_e164(written, region, e164):
    assert to_e164(written, region) == e164


@pytest.mark.parametrize(
    ("written", "region", "reason"),
    [
        ("555-12", "US", "'555-12' is too short to be a phone number"),
        ("+1 415", "US", "'+1 415' is too short to be a phone number"),
        ("4152864371123456", "US", "'4152864371123456' is too long to be a phone"),
        ("+1 200 555 0100", "US", "'+1 200 555 0100' is not a valid number"),
        ("020 7946 095", "US", "'020 7946 095' is not a valid US number"),
        ("415 286 4371", "GB", "'415 286 4371' is not a valid GB number"),
        ("286-4371", "US", "'286-4371' is a local number: give it with its area"),
        ("+999 123 4567", "US", "does not start with a known country code"),
        ("call me", "US", "'call me' is not a phone number"),
        ("1-800-FLOWERS", "US", "'1-800-FLOWERS' has letters"),
        ("415-286-4371 ext. 12", "US", "has an extension (12): give the number"),
        ("415-286-4371 x12", "US", "has an extension (12)"),
        ("", "US", "the phone number is empty"),
        ("   ", "US", "the phone number is empty"),
    ],
)
def test_what_is_not_a_number_is_refused_with_the_reason(written, region, reason):
    with pytest.raises(Invalid) as refused:
        to_e164(written, region)
    assert reason in refused.value.message
    assert refused.value.code == "invalid_phone"


def test_a_long_refused_text_is_quoted_shortened():
    with pytest.raises(Invalid) as refused:
        to_e164("4" * 300, "US")
    assert refused.value.message == f"'{'4' * 39}…' is too long to be a phone number"


def test_carrier_numbers_and_regions():
    assert is_e164("+14152864371") and is_e164("+442079460958")
    for not_e164 in ("14152864371", "415-286-4371", "+0123456789", "", None):
        assert not is_e164(not_e164)
    assert is_region("US") and is_region("GB")
    for not_region in ("us", "XX", "001", "USA", ""):
        assert not is_region(not_region)


def test_the_schemas_phone_reads_in_the_region_of_their_context():
    us, gb = reading("US"), reading("GB")
    assert PhoneLinkStart.model_validate({"phone": "415-286-4371"}, context=us).phone
    assert (
        PhoneLinkStart.model_validate({"phone": "020 7946 0958"}, context=gb).phone
        == "+442079460958"
    )
    with pytest.raises(ValidationError) as refused:
        ProviderUpdate.model_validate({"phone": "555-12"}, context=us)
    error = refused.value.errors()[0]
    assert error["loc"] == ("phone",)
    assert "'555-12' is too short to be a phone number" in error["msg"]
    # a caller that does not say how to read national numbers is a bug, not a 422
    with pytest.raises(TypeError, match="reading"):
        PhoneLinkStart.model_validate({"phone": "415-286-4371"})
