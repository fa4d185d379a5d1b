"""The skill's intents: each with its slots (name -> type) and sample
utterances, and the built-in intents the skill answers. Data only: the
handlers (``CanFulfillIntentRequest``) and the model generator read it."""

from __future__ import annotations

from typing import Any

SERVICE_TYPE = "ServiceType"
STEP_TYPE = "CheckInStep"
CHECK_IN_STEPS = {
    "arrived": ["arrived", "am here", "am at the job", "got there"],
    "started": ["started", "begun", "am starting", "am working"],
    "done": ["done", "finished", "completed", "all done"],
}

#: What a search names: the service, where and when.
SEARCH_SLOTS = {
    "service": SERVICE_TYPE,
    "city": "AMAZON.US_CITY",
    "date": "AMAZON.DATE",
    "time": "AMAZON.TIME",
}
#: Our intents: name -> slots (name -> type) and sample utterances.
INTENTS: dict[str, dict[str, Any]] = {
    "FindProviderIntent": {
        "slots": SEARCH_SLOTS,
        "samples": [
            "find a {service}",
            "find a {service} in {city}",
            "who can do {service} in {city}",
            "who can do {service} {date}",
            "is there a {service} in {city} {date}",
            "find me a {service} near {city} {date} {time}",
            "I'm looking for a {service}",
            "search for a {service} in {city}",
        ],
    },
    "BookServiceIntent": {
        "slots": SEARCH_SLOTS,
        "samples": [
            "book a {service}",
            "book a {service} in {city}",
            "book a {service} for {date}",
            "book a {service} in {city} {date}",
            "book a {service} in {city} {date} {time}",
            "book a {service} {date} {time}",
            "to book a {service} in {city} {date} {time}",
            "I need a {service}",
            "I need a {service} in {city} {date}",
            "get me a {service} {date}",
            "schedule a {service} in {city} {date} at {time}",
        ],
    },
    # the job in the caller's own words. AMAZON.SearchQuery is a phrase slot:
    # each sample needs a carrier phrase (a sample of the slot alone is
    # refused: MissingCarrierPhraseWithPhraseSlot) and no other slot shares
    # its utterance, so the city and the day are asked afterwards
    "DescribeJobIntent": {
        "slots": {"description": "AMAZON.SearchQuery"},
        "samples": [
            "I need someone to {description}",
            "I need someone who can {description}",
            "I need help with {description}",
            "I want someone to {description}",
            "find someone to {description}",
            "find someone who can {description}",
            "get someone to {description}",
            "book someone to {description}",
            "can someone {description}",
            "help me with {description}",
            "the problem is {description}",
            "my {description}",
        ],
    },
    "ChooseProviderIntent": {
        "slots": {"ordinal": "AMAZON.Ordinal", "number": "AMAZON.NUMBER"},
        "samples": [
            "the {ordinal} one",
            "the {ordinal}",
            "{ordinal} one",
            "number {number}",
            "option {number}",
            "I'll take the {ordinal} one",
            "book the {ordinal} one",
        ],
    },
    "JobStatusIntent": {
        "slots": {},
        "samples": [
            "what's the status of my job",
            "status of my booking",
            "when is my booking",
            "when is the plumber coming",
            "what are my bookings",
            "is my booking confirmed",
        ],
    },
    "CancelBookingIntent": {
        "slots": {"number": "AMAZON.NUMBER"},
        "samples": [
            "cancel my booking",
            "cancel booking {number}",
            "cancel booking number {number}",
            "cancel my appointment",
            "I want to cancel my booking",
        ],
    },
    "RescheduleIntent": {
        "slots": {
            "number": "AMAZON.NUMBER",
            "date": "AMAZON.DATE",
            "time": "AMAZON.TIME",
        },
        "samples": [
            "reschedule my booking",
            "move my booking to {date}",
            "move my booking to {date} at {time}",
            "reschedule booking {number} to {date}",
            "change my booking to {date} {time}",
        ],
    },
    "RateProviderIntent": {
        "slots": {"stars": "AMAZON.NUMBER", "number": "AMAZON.NUMBER"},
        "samples": [
            "rate my provider",
            "give {stars} stars",
            "rate them {stars} stars",
            "rate booking {number} {stars} stars",
            "leave a review",
        ],
    },
    "ProviderCheckInIntent": {
        "slots": {"job": "AMAZON.NUMBER", "step": STEP_TYPE},
        "samples": [
            "I've {step} at job {job}",
            "I {step} at job {job}",
            "I have {step} job {job}",
            "job {job} {step}",
            "check in to job {job}",
            "I'm {step} at job {job}",
        ],
    },
    "LinkPhoneIntent": {
        "slots": {"phone": "AMAZON.PhoneNumber", "code": "AMAZON.NUMBER"},
        "samples": [
            "link my phone",
            "link my phone number",
            "link my phone {phone}",
            "my code is {code}",
            "the code is {code}",
        ],
    },
}

BUILT_IN_INTENTS = (
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.CancelIntent",
    "AMAZON.FallbackIntent",
    "AMAZON.YesIntent",
    "AMAZON.NoIntent",
    "AMAZON.NavigateHomeIntent",
)
