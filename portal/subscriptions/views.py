"""The user's plan page: state in words, trial, cancel and resubscribe."""
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField

from ..extensions import db
from . import services

bp = Blueprint("subscriptions", __name__)


class PlanActionForm(FlaskForm):
    """CSRF plus the subscription version the user saw, so a change made elsewhere is not overwritten."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        return int(self.version.data) if (self.version.data or "").isdigit() else None


@bp.get("/plan")
@login_required
def plan():
    summary = services.plan_summary(current_user, current_app.config)
    return render_template("subscriptions/plan.html", plan=summary)


@bp.post("/plan/trial")
@login_required
def start_trial():
    return _change(services.start_trial, "Your 7-day free trial has started.")


@bp.post("/plan/cancel")
@login_required
def cancel():
    return _change(services.cancel, "Your plan will not renew. You keep access until the end of the period.")


@bp.post("/plan/resubscribe")
@login_required
def resubscribe():
    return _change(services.resubscribe, "Your plan renews again.")


def _change(change_plan, done: str):
    form = PlanActionForm()
    if not form.validate_on_submit():
        flash("The form expired. Please try again.", "warning")
        return redirect(url_for(".plan"))
    try:
        change_plan(current_user, form.expected_version())
        services.save()
    except services.SubscriptionError as exc:
        db.session.rollback()
        flash(exc.message, "warning" if exc.status == 409 else "danger")
    else:
        flash(done, "success")
    return redirect(url_for(".plan"))
