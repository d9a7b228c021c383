"""Search pages: search, upload (drag and drop, several files, progress), file list, deletes."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField
from wtforms.validators import AnyOf, Optional

from ..auth import wants_json
from ..extensions import db
from ..models.choices import FILE_TYPES
from ..ratelimit import hit

bp = Blueprint("search", __name__)

SEARCH_LIMIT = (120, 60)
UPLOAD_LIMIT = (30, 60)
ACCEPT = ".md,.markdown,.org,.txt,.text,.pdf"
TYPE_LABELS = {"markdown": "Markdown", "org": "Org", "plaintext": "Plain text", "pdf": "PDF", "notion": "Notion",
               "github": "GitHub", "image": "Image", "docx": "Word", "conversation": "Conversation"}


class UploadForm(FlaskForm):
    files = MultipleFileField("Files", description="Markdown, Org, plain text or PDF. Several at once.")


class DeleteForm(FlaskForm):
    scope = HiddenField(validators=[AnyOf(("file", "type", "all"))])
    value = HiddenField(validators=[Optional()])


def _limit(slug: str, default):
    limit, window = current_app.config.get(f"{slug.upper().replace('-', '_')}_RATE_LIMIT", default)
    hit(slug, f"user:{current_user.id}", limit, window)


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@bp.app_template_global("human_size")
def _human_size(size: int) -> str:
    return human_size(size)


@bp.get("/search")
@login_required
def index():
    from .indexing import type_counts
    from .services import SearchError, search

    counts = type_counts(current_user)
    query = request.args.get("q", "").strip()
    file_type = request.args.get("t") if request.args.get("t") in FILE_TYPES else None
    results, error, elapsed = [], None, None
    if query:
        _limit("search", SEARCH_LIMIT)
        timings: dict = {}
        try:
            results = search(current_user, query, n=10, file_type=file_type, timings=timings)
            elapsed = timings.get("embed_ms", 0) + timings.get("sql_ms", 0)
        except SearchError as exc:
            error = exc.message
    return render_template(
        "search/index.html", query=query, results=results, counts=counts, error=error,
        total_files=sum(counts.values()), file_type=file_type, elapsed=elapsed, type_labels=TYPE_LABELS,
    )


@bp.get("/search/files")
@login_required
def files():
    from .indexing import indexed_bytes, list_files, quota_bytes, type_counts

    page = request.args.get("page", 1, type=int) or 1
    kind = request.args.get("t") if request.args.get("t") in FILE_TYPES else None
    rows, total = list_files(current_user, file_type=kind, page=page, per_page=25)
    pages = max(1, -(-total // 25))
    return render_template(
        "search/files.html", files=rows, total=total, page=page, pages=pages, counts=type_counts(current_user),
        kind=kind, used=indexed_bytes(current_user), quota=quota_bytes(current_user), upload_form=UploadForm(),
        delete_form=DeleteForm(), type_labels=TYPE_LABELS, accept=ACCEPT,
        max_upload=current_app.config.get("MAX_CONTENT_LENGTH") or 0,
    )


@bp.post("/search/upload")
@login_required
def upload():
    from ..api.content import index_uploads

    form = UploadForm()
    if not form.validate():
        message = "The form expired. Reload the page and try again."
        if wants_json():
            return jsonify({"error": message}), 400
        flash(message, "error")
        return redirect(url_for("search.files"))
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        message = "Choose at least one file to upload."
        if wants_json():
            return jsonify({"error": message}), 422
        flash(message, "error")
        return redirect(url_for("search.files"))
    _limit("upload", UPLOAD_LIMIT)
    body, status = index_uploads(current_user, uploads, replace=False)
    if wants_json():
        return jsonify(body), status
    for item in body["indexed"]:
        chunks = "1 chunk" if item["chunks"] == 1 else f"{item['chunks']} chunks"
        flash(f"Indexed {item['file']}: {chunks} ({item['added']} new).", "success")
    for item in body.get("errors", []):
        flash(f"{item['file'] or 'A file'}: {item['error']}", "error")
    return redirect(url_for("search.files"))


@bp.route("/search/files/delete", methods=["GET", "POST"])
@login_required
def delete():
    """GET: a confirmation page. POST: delete one file, one type, or everything."""
    from .indexing import delete_file, delete_files, file_exists, type_counts

    form = DeleteForm(request.form if request.method == "POST" else request.args, meta={})
    scope = form.scope.data
    value = (form.value.data or "").strip()
    if scope not in ("file", "type", "all") or (scope == "type" and value not in FILE_TYPES) \
            or (scope == "file" and not value):
        abort(404)
    if scope == "file" and not file_exists(current_user, value):
        abort(404)
    counts = type_counts(current_user)
    if request.method == "POST" and form.validate():
        if scope == "file":
            deleted = delete_file(current_user, value, commit=False)
            message = f"Deleted {value} ({deleted} chunks)."
        elif scope == "type":
            deleted = delete_files(current_user, file_type=value, commit=False)
            message = f"Deleted every {TYPE_LABELS.get(value, value)} file ({deleted} chunks)."
        else:
            deleted = delete_files(current_user, commit=False)
            message = f"Deleted all your indexed files ({deleted} chunks)."
        db.session.commit()
        flash(message, "success")
        return redirect(url_for("search.files"))
    return render_template("search/delete.html", form=form, scope=scope, value=value, counts=counts,
                           type_labels=TYPE_LABELS)
