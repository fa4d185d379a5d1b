"""Write ``data/rules.yml`` from the flows the actions define.

Each form starts on its intent and ends in its submit action; inside any form
the questions of :data:`actions.forms.INTERRUPTIONS` are answered and the form
goes on, "a person" leaves it for the hand-off, and another flow's intent
leaves it for that flow (except "cancel" while booking, which stops the
booking). Run under the bot's Python after changing a flow:

    bot/.venv/bin/python bot/tools/write_rules.py
"""

from __future__ import annotations

import sys
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BOT))

from actions.forms import FLOW_INTENTS  # noqa: E402

SUBMIT = {
    "booking_form": "action_book_provider",
    "cancel_form": "action_cancel_booking",
    "reschedule_form": "action_reschedule_booking",
    "review_form": "action_leave_review",
    "check_in_form": "action_check_in",
    "link_phone_form": "action_link_phone",
}
ANSWERS = {
    "greet": "utter_greet",
    "help": "utter_help",
    "goodbye": "utter_goodbye",
    "thanks": "utter_you_are_welcome",
    "bot_challenge": "utter_iamabot",
    "out_of_scope": "utter_out_of_scope",
    "check_status": "action_booking_status",
    "ask_details": "action_provider_details",
    "ask_human": "action_hand_off",
    "nlu_fallback": "action_handle_fallback",
}
#: answered inside a form, which then asks again
IN_FORM = ("help", "bot_challenge", "check_status", "ask_details")
#: the booking form treats these as "stop" (actions/booking.py)
STOPS_BOOKING = {"cancel_booking"}


def rule(name: str, steps: list[str], condition: list[str] | None = None) -> str:
    lines = [f"- rule: {name}"]
    if condition:
        lines += ["  condition:", *(f"  - {c}" for c in condition)]
    lines += ["  steps:", *(f"  - {s}" for s in steps)]
    return "\n".join(lines)


def rules() -> list[str]:
    out = [
        rule(f"{intent}", [f"intent: {intent}", f"action: {action}"])
        for intent, action in ANSWERS.items()
    ]
    for form, intent in FLOW_INTENTS.items():
        inside = [f"active_loop: {form}"]
        out.append(
            rule(
                f"start {form}",
                [f"intent: {intent}", f"action: {form}", f"active_loop: {form}"],
            )
        )
        out.append(
            rule(
                f"submit {form}",
                [
                    f"action: {form}",
                    "active_loop: null",
                    "slot_was_set:\n    - requested_slot: null",
                    f"action: {SUBMIT[form]}",
                ],
                inside,
            )
        )
        for asked in IN_FORM:
            out.append(
                rule(
                    f"{asked} during {form}",
                    [
                        f"intent: {asked}",
                        f"action: {ANSWERS[asked]}",
                        f"action: {form}",
                        f"active_loop: {form}",
                    ],
                    inside,
                )
            )
        out.append(
            rule(
                f"a person during {form}",
                [
                    "intent: ask_human",
                    "action: action_deactivate_loop",
                    "active_loop: null",
                    "action: action_hand_off",
                ],
                inside,
            )
        )
        for other, other_intent in FLOW_INTENTS.items():
            if other == form or (
                form == "booking_form" and other_intent in STOPS_BOOKING
            ):
                continue
            out.append(
                rule(
                    f"from {form} to {other}",
                    [
                        f"intent: {other_intent}",
                        "action: action_deactivate_loop",
                        "active_loop: null",
                        f"action: {other}",
                        f"active_loop: {other}",
                    ],
                    inside,
                )
            )
    return out


def main() -> None:
    header = (
        'version: "3.1"\n\n'
        "# Written by bot/tools/write_rules.py from the flows in bot/actions;\n"
        "# change that script (or the flows), not this file.\n\n"
        "rules:\n"
    )
    (BOT / "data" / "rules.yml").write_text(header + "\n\n".join(rules()) + "\n")


if __name__ == "__main__":
    main()
