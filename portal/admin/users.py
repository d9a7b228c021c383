"""Admin pages for users and subscriptions."""
from __future__ import annotations

import uuid as uuid_lib
from datetime import timedelta

import sqlalchemy as sa
from flask import make_response, render_template
from flask_wtf import FlaskForm
from sqlalchemy.orm import contains_eager
from wtforms import BooleanField, DateTimeLocalField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from .. import audit
from ..extensions import db
from ..models import GoogleUser, KhojUser, Subscription
from ..models.choices import SUBSCRIPTION_TYPES
from ..subscriptions import state as sub_state
from .listing import Action, BoolFilter, ChoiceFilter, Column, Filter, ModelAdmin, RecentFilter, now, register


# --------------------------------------------------------------------------- users


class UserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    first_name = StringField("First name", validators=[Optional(), Length(max=150)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=150)])
    phone_number = StringField(
        "Phone", validators=[Optional(), Regexp(r"^\+[1-9][0-9]{6,14}$", message="Use international format, e.g. +4915112345678.")],
        description="International format (E.164).")
    verified_email = BooleanField("Email verified")


def _set_active(active: bool):
    def run(admin, users, actor):
        from ..accounts.services import AccountError, set_active

        changed, refused = 0, []
        for user in users:
            if user.id == actor.id and not active:
                refused.append("you cannot deactivate yourself")
                continue
            if user.is_active != active:
                try:
                    set_active(user, active, actor)
                except AccountError as exc:
                    refused.append(str(exc))
                    continue
                changed += 1
        verb = "Activated" if active else "Deactivated"
        message = f"{verb} {changed} user{'s' if changed != 1 else ''}."
        return message + (" Skipped: " + "; ".join(refused) if refused else "")

    return run


def _set_flag(flag: str, value: bool, verb: str):
    def run(admin, users, actor):
        changed = 0
        for user in users:
            if flag == "is_staff" and not value and user.id == actor.id:
                continue  # removing your own staff flag would lock you out mid-action
            if getattr(user, flag) != value:
                setattr(user, flag, value)
                audit.record("users.update", actor=actor, obj=user, changes={flag: [not value, value]})
                changed += 1
        return f"{verb} {changed} user{'s' if changed != 1 else ''}."

    return run


def _login_link(admin, users, actor):
    from ..accounts.services import issue_login_link

    if len(users) != 1:
        return "Choose exactly one user to get an email login link for."
    user = users[0]
    link = issue_login_link(user, actor)
    db.session.commit()
    response = make_response(render_template("admin/login_link.html", user=user, link=link, admin=admin))
    response.headers["Cache-Control"] = "no-store"
    return response


def _has_google(q, v):
    exists = sa.exists().where(GoogleUser.user_id == KhojUser.id)
    return q.where(exists if v == "yes" else ~exists)


@register
class UserAdmin(ModelAdmin):
    model = KhojUser
    slug = "users"
    noun = "user"
    title = "Users"
    group = "Accounts"
    detail_endpoint = "admin.user_detail"
    columns = [
        Column("email", sort=KhojUser.email, link=True),
        Column("username", sort=KhojUser.username),
        Column("phone_number", "Phone"),
        Column("is_active", "Active", sort=KhojUser.is_active),
        Column("uuid", "UUID"),
        Column("is_staff", "Staff", sort=KhojUser.is_staff),
        Column("is_superuser", "Superuser"),
        Column("date_joined", "Joined", sort=KhojUser.date_joined),
        Column("last_login", "Last sign-in", sort=KhojUser.last_login),
    ]
    search_fields = [KhojUser.email, KhojUser.username, KhojUser.phone_number]
    search_help = "Email, username, phone or UUID"
    filters = [
        Filter("google", "Google sign-in", _has_google, [("yes", "Yes"), ("no", "No")]),
        RecentFilter("joined", "Joined", KhojUser.date_joined),
        BoolFilter("verified", "Verified email", KhojUser.verified_email),
        BoolFilter("staff", "Staff", KhojUser.is_staff),
        BoolFilter("active", "Active", KhojUser.is_active),
    ]
    actions = [
        Action("activate", "Activate", _set_active(True)),
        Action("deactivate", "Deactivate", _set_active(False), danger=True,
               description="Deactivated users are signed out everywhere and their API tokens stop working."),
        Action("verify_email", "Mark email verified", _set_flag("verified_email", True, "Verified")),
        Action("make_staff", "Make staff", _set_flag("is_staff", True, "Made staff:"), fresh=True,
               description="Staff can see and change everything in the admin."),
        Action("remove_staff", "Remove staff", _set_flag("is_staff", False, "Removed staff from"), fresh=True),
        Action("login_link", "Get email login link", _login_link, fresh=True,
               description="Shows a one-time sign-in link for the user. Anyone with the link can sign in as them."),
    ]
    form_class = UserForm
    delete_fresh = True
    empty_message = "No users yet."

    def label(self, obj) -> str:
        return obj.email

    def search(self, q):
        try:
            return KhojUser.uuid == uuid_lib.UUID(q)
        except ValueError:
            return super().search(q)

    def validate(self, form, obj):
        email = form.email.data.strip().lower()
        clash = db.session.execute(
            sa.select(KhojUser.id).where(sa.func.lower(KhojUser.email) == email)
            .where(KhojUser.id != (obj.id if obj is not None else -1))
        ).first()
        return {"email": "Another user already has this email address."} if clash else {}

    def delete(self, obj):
        from flask_login import current_user

        from .listing import DeleteRefused

        if obj.id == current_user.id:
            raise DeleteRefused("You cannot delete your own account from the admin.")
        super().delete(obj)

    def populate(self, form, obj):
        super().populate(form, obj)
        obj.username = obj.email  # usernames equal emails on every path
        if obj.id is None:
            obj.subscription = Subscription()


# --------------------------------------------------------------------------- subscriptions


def _trial_end():
    return sa.func.coalesce(Subscription.renewal_date, Subscription.created_at + timedelta(days=sub_state.TRIAL_DAYS))


def state_clause(state: str, at=None):
    """SQL for subscription_state(sub, at) == state (tests check it agrees with the Python rule)."""
    at = at or now()
    is_trial = Subscription.type == "trial"
    future = Subscription.renewal_date > at
    clauses = {
        sub_state.TRIAL: sa.and_(is_trial, _trial_end() > at),
        sub_state.SUBSCRIBED: sa.and_(~is_trial, Subscription.is_recurring, future),
        sub_state.UNSUBSCRIBED: sa.and_(~is_trial, ~Subscription.is_recurring, future),
    }
    if state == sub_state.EXPIRED:
        return ~sa.or_(*[sa.func.coalesce(c, False) for c in clauses.values()])
    return clauses.get(state)


def _state_filter(q, v):
    clause = state_clause(v)
    return q.where(clause) if clause is not None else q


class SubscriptionForm(FlaskForm):
    type = SelectField("Type", choices=SUBSCRIPTION_TYPES)
    renewal_date = DateTimeLocalField("Renewal date (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    is_recurring = BooleanField("Recurring")


@register
class SubscriptionAdmin(ModelAdmin):
    model = Subscription
    slug = "subscriptions"
    noun = "subscription"
    title = "Subscriptions"
    group = "Accounts"
    columns = [
        Column("user", "User", render=lambda s: s.user.email, sort=KhojUser.email, link=True),
        Column("type", sort=Subscription.type),
        Column("state", "State", render=lambda s: sub_state.subscription_state(s)),
        Column("is_recurring", "Recurring"),
        Column("renewal_date", "Renews", sort=Subscription.renewal_date),
        Column("enabled_trial_at", "Trial started"),
    ]
    search_fields = [KhojUser.email]
    search_help = "User email"
    filters = [
        ChoiceFilter("type", "Type", Subscription.type, SUBSCRIPTION_TYPES),
        Filter("state", "State", _state_filter,
               [(s, s.capitalize()) for s in (sub_state.TRIAL, sub_state.SUBSCRIBED, sub_state.UNSUBSCRIBED,
                                              sub_state.EXPIRED)]),
    ]
    form_class = SubscriptionForm
    can_create = False
    can_delete = False

    def query(self):
        return sa.select(Subscription).join(Subscription.user).options(contains_eager(Subscription.user))

    def label(self, obj) -> str:
        return f"subscription of {obj.user.email}"

    def populate(self, form, obj):
        super().populate(form, obj)
        if obj.renewal_date is not None and obj.renewal_date.tzinfo is None:
            from datetime import timezone

            obj.renewal_date = obj.renewal_date.replace(tzinfo=timezone.utc)
