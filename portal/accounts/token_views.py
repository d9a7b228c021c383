"""API tokens: create (the full token is shown once, in the POST's response), list, revoke by id."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import db
from . import services
from .forms import TokenForm
from .views import bp, client_ip

PER_PAGE = 20


def render_tokens(form: TokenForm, new_token: str | None = None, status: int = 200):
    page = db.paginate(services.user_tokens(current_user), page=request.args.get("page", 1, type=int),
                       per_page=PER_PAGE, error_out=False)
    response = render_template("accounts/tokens.html", form=form, tokens=page, new_token=new_token,
                               now=services.now())
    # The page that shows a new token must not be kept in any cache.
    return response, status, {"Cache-Control": "no-store"}


@bp.get("/tokens")
@login_required
def tokens():
    return render_tokens(TokenForm(formdata=None))


@bp.post("/tokens")
@login_required
def token_create():
    form = TokenForm()
    if not form.validate_on_submit():
        return render_tokens(form, status=422)
    try:
        row, token = services.create_token(current_user, form.name.data, form.expiry.data, client_ip())
    except services.AccountError as exc:
        db.session.rollback()
        getattr(form, exc.field or "name").errors.append(exc.message)
        return render_tokens(form, status=422)
    db.session.commit()
    flash(f"Token “{row.name}” created. Copy it now: it will not be shown again.", "success")
    # Rendered, not redirected: the token must never travel through the (client-side) session cookie.
    return render_tokens(TokenForm(formdata=None), new_token=token, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    row = services.revoke_token(current_user, token_id)
    if row is None:
        abort(404)
    db.session.commit()
    flash(f"Token “{row.name}” is revoked. Scripts using it now get 401.", "success")
    return redirect(url_for("accounts.tokens"))
