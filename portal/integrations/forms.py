"""Integration forms: tokens (blank = keep the stored one), repositories, URL import, disconnecting."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional


class TokenForm(FlaskForm):
    token = PasswordField("Token", validators=[Optional(), Length(max=255)])


class RepoForm(FlaskForm):
    owner = StringField("Owner", validators=[DataRequired("Enter the repository owner."), Length(max=100)],
                        description="The user or organisation, as in github.com/<owner>/<name>.")
    name = StringField("Repository", validators=[DataRequired("Enter the repository name."), Length(max=100)])
    branch = StringField("Branch", validators=[Optional(), Length(max=255)], description="Defaults to main.")


class UrlForm(FlaskForm):
    url = StringField("Web page address", validators=[DataRequired("Enter the address of a page."),
                                                      Length(max=2048)],
                      description="The page is fetched through the configured web scrapers and indexed with its URL.")


class DisconnectForm(FlaskForm):
    delete_entries = BooleanField("Also delete the indexed entries from search")
