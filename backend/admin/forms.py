"""The console's forms: each validates and reports errors next to its field."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    FloatField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

try:  # WTForms 3.3 deprecates (value, label) tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms

    def SelectChoice(value: str, label: str) -> tuple[str, str]:  # noqa: N802
        return value, label


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()])


class ProviderForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=5000)])
    city = StringField("City", validators=[Optional(), Length(max=120)])
    radius_km = FloatField(
        "Service radius (km)", validators=[InputRequired(), NumberRange(0, 500)]
    )
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)])
    # their formats are the schema's (ProviderUpdate): its errors are shown
    # next to these fields
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    email = EmailField("Email", validators=[Optional(), Length(max=254)])
    languages = StringField(
        "Languages",
        description="ISO codes separated by commas: en, es",
        validators=[
            DataRequired(),
            Regexp(
                r"^\s*[a-z]{2,3}(\s*,\s*[a-z]{2,3})*\s*$",
                message="two- or three-letter codes separated by commas",
            ),
        ],
    )

    def validate_timezone(self, field: StringField) -> None:
        if field.data not in available_timezones():
            raise ValidationError("an IANA time zone, like America/Chicago")


class VerifyForm(FlaskForm):
    licence = BooleanField("Licence checked")
    insurance = BooleanField("Insurance checked")
    identity = BooleanField("Identity checked")
    notes = TextAreaField("Notes", validators=[Length(max=2000)])
    decision = SelectField(
        "Decision",
        choices=[SelectChoice("approve", "Verify"), SelectChoice("reject", "Reject")],
        validators=[DataRequired()],
    )


class ActionForm(FlaskForm):
    """A button that changes something, with an optional reason."""

    reason = StringField("Reason", validators=[Optional(), Length(max=300)])


class ReasonForm(FlaskForm):
    """A change that needs to say why (cancel, no-show): kept in the
    booking's history."""

    reason = TextAreaField(
        "Why",
        validators=[
            DataRequired(message="say why: it is kept with the booking"),
            Length(max=300, message="at most 300 characters"),
        ],
    )


class RescheduleForm(FlaskForm):
    start = DateTimeLocalField(
        "New start (provider's local time)",
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(message="pick a date and time")],
    )
    reason = StringField("Reason", validators=[Optional(), Length(max=300)])


class ReplyForm(FlaskForm):
    text = TextAreaField(
        "Reply",
        validators=[
            DataRequired(message="write a reply"),
            Length(max=1600, message="at most 1600 characters"),
        ],
    )


class ModerateForm(FlaskForm):
    state = SelectField(
        "Show",
        choices=[SelectChoice("published", "Publish"), SelectChoice("hidden", "Hide")],
    )
    reason = StringField("Reason", validators=[Length(max=300)])

    def validate_reason(self, field: StringField) -> None:
        if self.state.data == "hidden" and not (field.data or "").strip():
            raise ValidationError("say why the review is hidden")


class EraseForm(FlaskForm):
    confirm = StringField(
        "Type ERASE to confirm",
        validators=[DataRequired(message="type ERASE to confirm")],
    )

    def validate_confirm(self, field: StringField) -> None:
        if (field.data or "").strip() != "ERASE":
            raise ValidationError("type ERASE (in capitals) to confirm")


#: Each API key scope, as the console offers it.
API_SCOPE_CHOICES = [
    SelectChoice("read", "read: catalogue, providers, matches, records by id"),
    SelectChoice("book", "book: customers, jobs, bookings and their changes"),
    SelectChoice("admin", "admin: add, change, verify providers"),
    SelectChoice("assistant", "assistant: the assistant's actions only"),
]


class ApiKeyForm(FlaskForm):
    name = StringField(
        "Name",
        description="who or what uses it: bot-production, partner-acme",
        validators=[DataRequired(), Length(max=120)],
    )
    scopes = SelectMultipleField(
        "Scopes",
        choices=API_SCOPE_CHOICES,
        description="what it may do; the assistant's action server needs "
        "assistant alone",
        validators=[DataRequired(message="choose at least one scope")],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
