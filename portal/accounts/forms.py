"""Account forms. Each has only the fields a user may set: no role, plan or admin flags (security.md #15)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from .validation import MAX_PASSWORD, password_problem


def strong_password(form, field):
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


EMAIL = [DataRequired("Enter your email address."), Email("Enter a valid email address."), Length(max=254)]
CODE = [DataRequired("Enter the 6-digit code."), Regexp(r"^\s*\d{6}\s*$", message="The code has 6 digits.")]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL, render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField("Keep me signed in on this device",
                            description="For up to 14 days. Sensitive pages still ask for your password.")


class SignupForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL, render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired("Choose a password."), strong_password],
                             description="At least 8 characters. Long passphrases are best.",
                             render_kw={"autocomplete": "new-password"})
    first_name = StringField("First name", validators=[Optional(), Length(max=150)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=150)])


class SetupForm(FlaskForm):
    email = EmailField("Admin email", validators=EMAIL, render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired("Choose a password."), strong_password],
                             description="At least 8 characters. Long passphrases are best.",
                             render_kw={"autocomplete": "new-password"})


class ReauthenticateForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")],
                             render_kw={"autocomplete": "current-password"})


class CodeRequestForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL, render_kw={"autocomplete": "username"})


class CodeSignInForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL, render_kw={"autocomplete": "username"})
    code = StringField("Code", validators=CODE, render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class MagicLinkForm(FlaskForm):
    email = HiddenField(validators=[DataRequired()])
    code = StringField("Code from the email", validators=CODE,
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "data-code-from-fragment": ""})


class CodeForm(FlaskForm):
    code = StringField("Code", validators=CODE, render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class NameForm(FlaskForm):
    first_name = StringField("First name", validators=[Optional(), Length(max=150)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=150)])


class EmailChangeForm(FlaskForm):
    email = EmailField("New email", validators=EMAIL)
    current_password = PasswordField("Current password", render_kw={"autocomplete": "current-password"})


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", render_kw={"autocomplete": "current-password"})
    new_password = PasswordField("New password", validators=[DataRequired("Choose a password."), strong_password],
                                 description="At least 8 characters. Other devices will be signed out.",
                                 render_kw={"autocomplete": "new-password"})


class PhoneForm(FlaskForm):
    phone_number = StringField("Phone number", validators=[Optional(), Length(max=32)],
                               description="International format, e.g. +44 20 7946 0958. Leave blank to remove.",
                               render_kw={"autocomplete": "tel"})


class DeleteAccountForm(FlaskForm):
    confirm_email = StringField("Type your email address to confirm", validators=[DataRequired("Type your email.")])


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=100)],
                       description="Optional. Leave blank for a random two-word name.")
    expiry = RadioField("Expires", choices=[SelectChoice("never", "Never"), SelectChoice("30", "In 30 days"),
                                         SelectChoice("90", "In 90 days")],
                        default="never")
