"""The profile page: name, email, password, phone, Google, sessions, deleting the account."""
from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_login import current_user, fresh_login_required, login_fresh, login_required, login_user, logout_user

from ..extensions import db
from . import services
from .forms import CodeForm, DeleteAccountForm, EmailChangeForm, NameForm, PasswordChangeForm, PhoneForm
from .mail import DeliveryError
from .views import bp, client_ip, sign_out_everywhere_and_redirect


def render_profile(status: int = 200, **forms):
    user = current_user
    forms.setdefault("name_form", NameForm(obj=user, formdata=None))
    forms.setdefault("email_form", EmailChangeForm(formdata=None))
    forms.setdefault("password_form", PasswordChangeForm(formdata=None))
    forms.setdefault("phone_form", PhoneForm(obj=user, formdata=None))
    forms.setdefault("phone_code_form", CodeForm(formdata=None))
    from .views import google_enabled

    return render_template("accounts/profile.html", user=user, google=google_enabled(), **forms), status


def _apply_error(form, exc: services.AccountError) -> None:
    db.session.rollback()
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    else:
        flash(exc.message, "danger")


def _needs_fresh_for_passwordless():
    """Users without a password prove themselves by a fresh sign-in (Google or an email code) instead."""
    if current_user.password_hash is None and not login_fresh():
        flash("Sign in again (with Google or an email code) to make this change.", "warning")
        return True
    return False


@bp.get("/profile")
@login_required
def profile():
    return render_profile()


@bp.post("/profile/name")
@login_required
def profile_name():
    form = NameForm()
    if not form.validate_on_submit():
        return render_profile(422, name_form=form)
    services.update_name(current_user, form.first_name.data or "", form.last_name.data or "")
    db.session.commit()
    flash("Your name is saved.", "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/email")
@login_required
def profile_email():
    form = EmailChangeForm()
    if not form.validate_on_submit() or _needs_fresh_for_passwordless():
        return render_profile(422, email_form=form)
    try:
        services.change_email(current_user, form.current_password.data or "", form.email.data, client_ip())
    except services.AccountError as exc:
        db.session.commit()  # keep the failed-password count
        _apply_error(form, exc)
        return render_profile(422, email_form=form)
    except DeliveryError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return render_profile(422, email_form=form)
    db.session.commit()
    flash(f"Your email is now {current_user.email}. Enter the code we sent there to verify it.", "success")
    return redirect(url_for("accounts.verify_email"))


@bp.post("/profile/password")
@login_required
def profile_password():
    form = PasswordChangeForm()
    if not form.validate_on_submit() or _needs_fresh_for_passwordless():
        return render_profile(422, password_form=form)
    try:
        services.change_password(current_user, form.current_password.data or "", form.new_password.data)
    except services.AccountError as exc:
        db.session.commit()
        _apply_error(form, exc)
        return render_profile(422, password_form=form)
    db.session.commit()
    # Every other session is over; this one continues under the new session version.
    login_user(current_user._get_current_object(), fresh=True)
    flash("Your password is changed. Your other devices are signed out.", "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/phone")
@login_required
def profile_phone():
    form = PhoneForm()
    if not form.validate_on_submit():
        return render_profile(422, phone_form=form)
    try:
        needs_code = services.set_phone(current_user, form.phone_number.data or "")
        if needs_code:
            services.send_phone_code(current_user, client_ip())
    except services.AccountError as exc:
        _apply_error(form, exc)
        return render_profile(422, phone_form=form)
    except DeliveryError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return render_profile(422, phone_form=form)
    db.session.commit()
    if needs_code:
        flash(f"We sent a 6-digit code to {current_user.phone_number}. Enter it below.", "info")
    else:
        flash("Your phone number is saved." if current_user.phone_number else "Your phone number is removed.",
              "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/phone/verify")
@login_required
def profile_phone_verify():
    form = CodeForm()
    if not form.validate_on_submit():
        return render_profile(422, phone_code_form=form)
    ok = services.verify_phone_code(current_user, form.code.data, client_ip())
    db.session.commit()
    if not ok:
        form.code.errors = list(form.code.errors) + [
            "That code is not correct, or it has expired. Send a new one."]
        return render_profile(422, phone_code_form=form)
    flash("Your phone number is verified.", "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/phone/send")
@login_required
def profile_phone_send():
    try:
        services.send_phone_code(current_user, client_ip())
    except (services.AccountError, DeliveryError) as exc:
        db.session.rollback()
        flash(getattr(exc, "message", str(exc)), "danger")
        return redirect(url_for("accounts.profile"))
    db.session.commit()
    flash(f"We sent a new code to {current_user.phone_number}.", "info")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/google/disconnect")
@login_required
def profile_google_disconnect():
    from .google import disconnect_google

    disconnect_google(current_user)
    db.session.commit()
    flash("Google is disconnected. Sign in with your password or an email code.", "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    return sign_out_everywhere_and_redirect("You are signed out on every device.")


@bp.route("/profile/delete", methods=["GET", "POST"])
@fresh_login_required
def delete_account():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            services.delete_account(current_user._get_current_object(), form.confirm_email.data)
        except services.AccountError as exc:
            _apply_error(form, exc)
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash("Your account and everything in it are deleted.", "success")
            return redirect(url_for("core.home"))
    return render_template("accounts/delete.html", form=form)
