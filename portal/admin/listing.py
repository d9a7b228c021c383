"""The admin list machinery: one declarative `ModelAdmin` per model gives it every admin page.

Registering a model (e.g. in an area's own module, imported before the app registers blueprints)::

    from portal.admin.listing import Column, ChoiceFilter, ModelAdmin, register

    class AgentForm(FlaskForm):
        name = StringField("Name", validators=[DataRequired()])
        privacy_level = SelectField("Privacy", choices=PRIVACY_LEVELS)

    @register
    class AgentAdmin(ModelAdmin):
        model = Agent
        slug = "agents"                       # URLs /admin/agents/…, endpoints admin.agents_list, …
        title = "Agents"
        columns = [Column("name", sort=Agent.name), Column("privacy_level", "Privacy")]
        search_fields = [Agent.name, Agent.slug]
        filters = [ChoiceFilter("privacy", "Privacy", Agent.privacy_level, PRIVACY_LEVELS)]
        form_class = AgentForm                # fields named like model attributes are copied onto the row
        secret_fields = ()                    # masked with mask_secret, write-only, never searchable
        actions = [Action("approve", "Approve", lambda admin, rows, actor: f"Approved {len(rows)}.")]

Routes per registered admin (all staff-only; `permission = "superuser"` narrows an admin to superusers):

    GET  /admin/<slug>/                 list: ?q= search, ?f_<filter>=value, ?sort=[-]col, ?per_page=, ?page=
    GET  /admin/<slug>/export.csv       the filtered list as CSV (cells safe from formula injection)
    POST /admin/<slug>/action           bulk action: first POST shows a confirmation page, then confirm=yes runs it
    GET/POST /admin/<slug>/new          create form (can_create)
    GET/POST /admin/<slug>/<id>/edit    edit form (can_edit); GET with can_edit=False shows the row read-only
    GET/POST /admin/<slug>/<id>/delete  confirmation, then delete (can_delete); refused when rows depend on it
    GET  /admin/history/<object_type>/<object_id>   the row's audit history (one page for every model)

Models with an optimistic-lock column (SQLAlchemy's `version_id_col`, e.g. Subscription, Agent) get it on their
edit form as the hidden field `row_version`: a save against a version other than the row's current one (someone
saved meanwhile, or the field is missing) changes nothing and answers 409 with a conflict message next to the
form, and so does a save that loses the race at the UPDATE itself (StaleDataError).

Every create/update/delete writes one audit row (`<slug>.create|update|delete`, changed fields, secrets shown as
"changed"). Hooks to override: `query()`, `search(q)`, `annotate(rows)` (batch-load labels for a page, so the
number of queries never grows with rows), `prepare_form(form, obj)`, `validate(form, obj)` (return
{field: message}), `populate(form, obj)`, `after_save(obj, created)`, `delete(obj)`.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import sqlalchemy as sa
from flask import (
    Response, abort, flash, g, redirect, render_template, request, stream_with_context, url_for,
)
from flask_login import current_user, login_fresh
from markupsafe import Markup
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField

from .. import audit
from ..auth import admin_required
from ..crypto import mask_secret
from ..extensions import db, login_manager
from . import bp

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 100
# Counting every matching row of a huge table is slow; the list says "10,000+" past this.
COUNT_CAP = 10_000
CSV_LIMIT = 100_000
CSV_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
# The hidden edit-form field that carries the row's optimistic-lock version (not a model attribute, so
# `populate` never copies it onto the row).
VERSION_FIELD = "row_version"

registry: dict[str, "ModelAdmin"] = {}


# --------------------------------------------------------------------------- declarations


@dataclass
class Column:
    """One list column. `sort` is the SQL expression to order by (None = not sortable)."""

    name: str
    label: str | None = None
    sort: Any = None
    render: Callable[[Any], Any] | None = None  # obj -> str or Markup for the page
    csv: Callable[[Any], Any] | None = None  # obj -> plain value for the CSV (defaults to render/attr)
    secret: bool = False
    link: bool = False  # link the cell to the row's edit page

    def __post_init__(self):
        self.label = self.label or self.name.replace("_", " ").capitalize()

    def value(self, obj):
        if self.render is not None:
            return self.render(obj)
        value = getattr(obj, self.name, None)
        return mask_secret(value) if self.secret else value

    def csv_value(self, obj):
        if self.csv is not None:
            return self.csv(obj)
        value = getattr(obj, self.name, None) if self.render is None else self.render(obj)
        if self.secret:
            return mask_secret(value)
        return str(value) if isinstance(value, Markup) else value


@dataclass
class Filter:
    """A list filter: `?f_<name>=<value>`. With `choices` it renders a select, without a text input."""

    name: str
    label: str
    apply: Callable[[Any, str], Any]  # (select, value) -> select
    choices: list[tuple[str, str]] | Callable[[], list[tuple[str, str]]] | None = None

    def options(self):
        return self.choices() if callable(self.choices) else self.choices


def BoolFilter(name: str, label: str, column) -> Filter:
    return Filter(name, label, lambda q, v: q.where(column.is_(v == "yes")), [("yes", "Yes"), ("no", "No")])


def ChoiceFilter(name: str, label: str, column, values) -> Filter:
    pairs = [(v, v) if isinstance(v, str) else v for v in values]
    allowed = {p[0] for p in pairs}
    return Filter(name, label, lambda q, v: q.where(column == v) if v in allowed else q, pairs)


def RecentFilter(name: str, label: str, column, days=(1, 7, 30, 90)) -> Filter:
    def apply(q, v):
        if not v.isdigit():
            return q
        return q.where(column >= datetime.now(timezone.utc) - timedelta(days=int(v)))

    return Filter(name, label, apply, [(str(d), f"Last {d} day{'s' if d > 1 else ''}") for d in days])


@dataclass
class Action:
    """A bulk action. `run(admin, rows, actor)` changes rows (no commit) and returns the message to flash."""

    name: str
    label: str
    run: Callable[["ModelAdmin", list, Any], Any]  # returns the message to flash, or a response
    fresh: bool = False  # needs a fresh sign-in (sensitive)
    danger: bool = False
    description: str = ""


class DeleteRefused(Exception):
    """Raised by ModelAdmin.delete when rows depend on the object; the message explains which."""


# --------------------------------------------------------------------------- the model admin


class ModelAdmin:
    model: Any = None
    slug: str = ""
    title: str = ""
    noun: str = ""  # one row, in words ("chat model"); defaults to the title
    group: str = "Content"
    permission: str = "staff"  # or "superuser"
    columns: list[Column] = []
    search_fields: list = []
    search_help: str = ""
    filters: list[Filter] = []
    actions: list[Action] = []
    default_sort: str = "-id"
    form_class: Any = None
    secret_fields: tuple[str, ...] = ()
    can_create: bool = True
    can_edit: bool = True
    can_delete: bool = True
    delete_fresh: bool = False
    csv_export: bool = True
    csv_superuser_only: bool = False
    list_options: tuple = ()  # loader options for list pages (selectinload, defer …)
    detail_endpoint: str | None = None  # a richer page to link each row to, instead of the edit form
    empty_message: str = "Nothing here yet."
    row_links: bool = True  # the "Edit/View" and "History" links at the end of each row
    list_buttons: tuple = ()  # (label, endpoint) POST buttons shown above the list

    # ---- identity

    @property
    def object_type(self) -> str:
        return self.model.__tablename__

    def label(self, obj) -> str:
        return str(obj) if type(obj).__str__ is not object.__str__ else f"{self.title} #{obj.id}"

    def url(self, view: str, **kwargs) -> str:
        return url_for(f"admin.{self.slug}_{view}", **kwargs)

    def row_url(self, obj) -> str:
        return row_link(self.detail_endpoint or f"admin.{self.slug}_edit", "id", obj.id)

    def history_url(self, obj) -> str:
        return row_link("admin.history", "object_id", obj.id, object_type=self.object_type)

    # ---- querying

    def query(self):
        return sa.select(self.model)

    def search(self, q: str):
        """The WHERE clause for free-text `q` (OR of case-insensitive substring matches)."""
        pattern = like_pattern(q)
        clauses = [f.ilike(pattern) for f in self.search_fields]
        return sa.or_(*clauses) if clauses else None

    def annotate(self, rows: list) -> None:
        """Batch-load whatever the columns show for this page of rows (one query, not one per row)."""

    def sortable(self) -> dict[str, Any]:
        return {c.name: c.sort for c in self.columns if c.sort is not None}

    def filtered(self, args):
        """The select for the current request's search and filters, plus what was applied."""
        stmt = self.query()
        q = (args.get("q") or "").strip()[:200]
        if q and self.search_fields is not None:
            clause = self.search(q)
            if clause is not None:
                stmt = stmt.where(clause)
        active = {}
        for flt in self.filters:
            value = (args.get(f"f_{flt.name}") or "").strip()[:200]
            if value:
                stmt = flt.apply(stmt, value)
                active[flt.name] = value
        return stmt, q, active

    def ordered(self, stmt, sort: str):
        key = sort.lstrip("-")
        expr = self.sortable().get(key)
        if expr is None:
            sort, key = self.default_sort, self.default_sort.lstrip("-")
            expr = self.sortable().get(key, getattr(self.model, key))
        # Plain ASC/DESC (PostgreSQL puts NULLs last ascending, first descending): an explicit NULLS
        # clause would stop the planner from walking a plain b-tree index backwards.
        expr = expr.desc() if sort.startswith("-") else expr.asc()
        tiebreak = self.model.id.desc() if sort.startswith("-") else self.model.id.asc()
        return stmt.order_by(expr, tiebreak), sort

    def get(self, object_id: int):
        obj = db.session.get(self.model, object_id)
        if obj is None:
            abort(404)
        return obj

    # ---- optimistic locking

    @property
    def version_attr(self) -> str | None:
        """The attribute of the model's `version_id_col` (optimistic locking), or None."""
        mapper = sa.inspect(self.model)
        if mapper.version_id_col is None:
            return None
        return mapper.get_property_by_column(mapper.version_id_col).key

    def edit_form_class(self):
        """`form_class`, plus the hidden `row_version` field when the model has a version column."""
        if self.version_attr is None:
            return self.form_class
        made = self.__dict__.setdefault("_edit_form_classes", {})
        if self.form_class not in made:
            made[self.form_class] = type(self.form_class.__name__, (self.form_class,), {VERSION_FIELD: HiddenField()})
        return made[self.form_class]

    def is_stale(self, form, obj) -> bool:
        """True unless the submitted `row_version` is exactly the row's current version."""
        if self.version_attr is None:
            return False
        submitted = (getattr(form, VERSION_FIELD).data or "").strip()
        return submitted != str(getattr(obj, self.version_attr))

    def conflict_message(self, obj) -> str:
        noun = self.noun or self.title.lower()
        return (f"This {noun} was changed by someone else since you opened this page, so nothing was saved. "
                "Reload the page to see the current values, then apply your changes again.")

    # ---- forms

    def form_fields(self, form) -> list[str]:
        return [f.name for f in form if f.name != "csrf_token" and hasattr(self.model, f.name)]

    def make_form(self, obj=None):
        form_class = self.edit_form_class() if obj is not None else self.form_class
        form = form_class(obj=obj) if obj is not None else form_class()
        if obj is not None and self.version_attr is not None and not form.is_submitted():
            getattr(form, VERSION_FIELD).data = str(getattr(obj, self.version_attr))
        for name in self.secret_fields:
            f = getattr(form, name, None)
            if f is None:
                continue
            if request.method == "GET":
                f.data = ""
            current = getattr(obj, name, None) if obj is not None else None
            hint = f"Stored: {mask_secret(current)}. Leave blank to keep it." if current else "Not set."
            f.description = (f.description + " " if f.description else "") + hint
            f.render_kw = {**(f.render_kw or {}), "autocomplete": "off"}
        self.prepare_form(form, obj)
        return form

    def prepare_form(self, form, obj) -> None:
        """Set select choices etc."""

    def validate(self, form, obj) -> dict[str, str]:
        """Cross-field checks: {field name: message}."""
        return {}

    def populate(self, form, obj) -> None:
        for name in self.form_fields(form):
            value = getattr(form, name).data
            if name in self.secret_fields and not value:
                continue  # blank = unchanged
            if isinstance(value, str):
                value = value.strip()
                column = self.model.__table__.c.get(name)
                if value == "" and column is not None and column.nullable:
                    value = None
            setattr(obj, name, value)

    def after_save(self, obj, created: bool) -> None:
        pass

    # ---- deleting

    def dependents(self, obj) -> list[tuple[str, int]]:
        """(table, count) of rows that reference `obj` through foreign keys that refuse deletion."""
        return [(table, count) for table, count, _ in self.dependent_rows(obj)]

    def dependent_rows(self, obj, sample: int = 10) -> list[tuple[str, int, list[tuple[str, str | None]]]]:
        """Like `dependents`, with up to `sample` of those rows as (label, admin URL or None)."""
        found = []
        table = self.model.__table__
        for other in db.metadata.sorted_tables:
            for fk in other.foreign_keys:
                if fk.column.table is not table or (fk.ondelete or "NO ACTION").upper() not in (
                        "RESTRICT", "NO ACTION"):
                    continue
                count = db.session.execute(
                    sa.select(sa.func.count()).select_from(other).where(fk.parent == obj.id)
                ).scalar()
                if not count:
                    continue
                rows = []
                other_admin = admin_for(other.name)
                ids = db.session.scalars(
                    sa.select(other.c.id).where(fk.parent == obj.id).order_by(other.c.id).limit(sample)).all()
                if other_admin is not None:
                    for row in db.session.scalars(sa.select(other_admin.model).where(other_admin.model.id.in_(ids))):
                        rows.append((other_admin.label(row), other_admin.row_url(row)))
                else:
                    rows = [(f"{other.name.replace('_', ' ')} #{i}", None) for i in ids]
                found.append((other.name, count, rows))
        return found

    def delete(self, obj) -> None:
        deps = self.dependents(obj)
        if deps:
            raise DeleteRefused(explain_dependents(deps))
        try:
            with db.session.begin_nested():
                db.session.delete(obj)
                db.session.flush()
        except IntegrityError as exc:
            raise DeleteRefused(
                explain_dependents(self.dependents(obj)) or "Other rows still refer to it."
            ) from exc

    # ---- registration

    def register_routes(self) -> None:
        views = {
            "list": ("/", self.list_view, ["GET"]),
            "export": ("/export.csv", self.export_view, ["GET"]),
            "action": ("/action", self.action_view, ["POST"]),
            "create": ("/new", self.create_view, ["GET", "POST"]),
            "edit": ("/<int:id>/edit", self.edit_view, ["GET", "POST"]),
            "delete": ("/<int:id>/delete", self.delete_view, ["GET", "POST"]),
        }
        for name, (rule, view, methods) in views.items():
            if name == "create" and not self.can_create or name == "delete" and not self.can_delete:
                continue
            if name == "export" and not self.csv_export or name == "action" and not self.actions:
                continue
            if name == "edit" and not self.can_edit:
                methods = ["GET"]  # read-only: the page shows the row
            guarded = admin_required(self.guard(view))
            bp.add_url_rule(f"/{self.slug}{rule}", f"{self.slug}_{name}", guarded, methods=methods)

    def guard(self, view):
        def wrapped(*args, **kwargs):
            if self.permission == "superuser" and not current_user.is_superuser:
                abort(403)
            return view(*args, **kwargs)

        wrapped.__name__ = f"{self.slug}_{view.__name__}"
        return wrapped

    # ---- views

    def page_context(self):
        stmt, q, active = self.filtered(request.args)
        stmt, sort = self.ordered(stmt, request.args.get("sort") or self.default_sort)
        per_page = request.args.get("per_page", type=int) or DEFAULT_PAGE_SIZE
        per_page = per_page if per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE
        page = max(1, min(request.args.get("page", type=int) or 1, 100_000))
        rows = list(db.session.scalars(
            stmt.options(*self.list_options).limit(per_page + 1).offset((page - 1) * per_page)
        ).unique())
        has_next = len(rows) > per_page
        rows = rows[:per_page]
        self.annotate(rows)
        count_stmt = sa.select(sa.func.count()).select_from(
            stmt.order_by(None).with_only_columns(self.model.id).limit(COUNT_CAP + 1).subquery()
        )
        total = db.session.execute(count_stmt).scalar()
        return {
            "admin": self, "rows": rows, "q": q, "active": active, "sort": sort, "per_page": per_page,
            "page": page, "has_next": has_next, "total": total, "total_capped": total > COUNT_CAP,
            "page_sizes": PAGE_SIZES, "can_export": self.may_export(),
        }

    def list_view(self):
        return render_template("admin/list.html", **self.page_context())

    def may_export(self) -> bool:
        return self.csv_export and (not self.csv_superuser_only or current_user.is_superuser)

    def export_view(self):
        if not self.may_export():
            abort(403)
        stmt, _, _ = self.filtered(request.args)
        stmt, _ = self.ordered(stmt, request.args.get("sort") or self.default_sort)
        columns = self.export_columns()
        audit.record(f"{self.slug}.export", actor=current_user, object_type=self.object_type,
                     changes={"filters": dict(request.args)})
        db.session.commit()

        def generate():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow([c.label for c in columns])
            offset, batch = 0, 1000
            while offset < CSV_LIMIT:
                rows = list(db.session.scalars(
                    stmt.options(*self.list_options).limit(batch).offset(offset)).unique())
                if not rows:
                    break
                self.annotate(rows)
                for row in rows:
                    writer.writerow([csv_cell(c.csv_value(row)) for c in columns])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                offset += batch
            yield buffer.getvalue()

        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        return Response(stream_with_context(generate()), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{self.slug}-{stamp}.csv"'})

    def export_columns(self) -> list[Column]:
        return self.columns

    def action_view(self):
        action = next((a for a in self.actions if a.name == request.form.get("action")), None)
        if action is None:
            flash("Choose an action.", "warning")
            return redirect(self.back_url())
        ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()][:1000]
        if not ids:
            flash("Select at least one row first.", "warning")
            return redirect(self.back_url())
        if action.fresh and not login_fresh():
            return login_manager.needs_refresh()
        rows = list(db.session.scalars(
            self.query().where(self.model.id.in_(ids)).order_by(self.model.id).options(*self.list_options)
        ).unique())
        if not rows:
            abort(404)
        if request.form.get("confirm") != "yes":
            self.annotate(rows)
            return render_template("admin/confirm_action.html", admin=self, action=action, rows=rows,
                                   back=self.back_url())
        result = action.run(self, rows, current_user)
        db.session.commit()
        if not isinstance(result, str):
            return result  # an action may answer with its own page (e.g. a login link)
        flash(result, "success")
        return redirect(self.back_url())

    def back_url(self) -> str:
        target = request.form.get("next") or request.args.get("next") or ""
        if target.startswith("/admin/") and not target.startswith("//"):
            return target
        return self.url("list")

    def create_view(self):
        form = self.make_form()
        if self.submitted_and_valid(form, None):
            obj = self.model()
            self.populate(form, obj)
            changes = {name: getattr(obj, name) for name in self.form_fields(form)}
            try:
                with db.session.begin_nested():
                    db.session.add(obj)
                    db.session.flush()
            except (IntegrityError, DataError) as exc:
                form.form_errors.append(integrity_message(exc))
            else:
                self.after_save(obj, True)
                self.record("create", obj, changes)
                db.session.commit()
                flash(f"Created {self.label(obj)}.", "success")
                return redirect(self.url("list"))
        return render_template("admin/form.html", admin=self, form=form, obj=None)

    def edit_view(self, id: int):
        obj = self.get(id)
        if not self.can_edit:
            self.annotate([obj])
            return render_template("admin/form.html", admin=self, form=None, obj=obj)
        form = self.make_form(obj)
        conflict = None
        if self.submitted_and_valid(form, obj):
            if any(getattr(form, n).data for n in self.secret_fields if hasattr(form, n)) and not login_fresh():
                return login_manager.needs_refresh()
            if self.is_stale(form, obj):
                conflict = self.conflict_message(obj)
            else:
                try:
                    with db.session.begin_nested():
                        self.populate(form, obj)
                        changes = audit.diff(obj, self.form_fields(form))
                        db.session.flush()
                except (IntegrityError, DataError) as exc:
                    form.form_errors.append(integrity_message(exc))
                except StaleDataError:
                    # Another save committed between our read and our UPDATE (which matched no row).
                    db.session.rollback()
                    conflict = self.conflict_message(obj)
                else:
                    self.after_save(obj, False)
                    if changes:
                        self.record("update", obj, changes)
                    db.session.commit()
                    flash(f"Saved {self.label(obj)}." if changes else "Nothing changed.", "success")
                    return redirect(self.url("list"))
        return render_template("admin/form.html", admin=self, form=form, obj=obj, conflict=conflict), (
            409 if conflict else 200)

    def submitted_and_valid(self, form, obj) -> bool:
        """Field validators and `validate` both run, so every error shows at once."""
        if not form.is_submitted():
            return False
        valid = form.validate()
        return not self.apply_validation(form, obj) and valid

    def apply_validation(self, form, obj) -> bool:
        """Run `validate`; put its messages next to the fields. True when there were errors."""
        errors = self.validate(form, obj) or {}
        for name, message in errors.items():
            target = getattr(form, name, None)
            if target is None:
                form.form_errors.append(message)
            else:
                target.errors = list(target.errors) + [message]
        return bool(errors)

    def delete_view(self, id: int):
        obj = self.get(id)
        if self.delete_fresh and not login_fresh():
            return login_manager.needs_refresh()
        deps = self.dependent_rows(obj)
        if request.method == "POST":
            label = self.label(obj)
            try:
                self.delete(obj)
            except DeleteRefused as exc:
                db.session.rollback()
                return render_template("admin/delete.html", admin=self, obj=obj, refused=str(exc), deps=deps), 409
            self.record("delete", obj, {"label": label})
            db.session.commit()
            flash(f"Deleted {label}.", "success")
            return redirect(self.url("list"))
        refused = explain_dependents([(t, n) for t, n, _ in deps]) if deps else None
        return render_template("admin/delete.html", admin=self, obj=obj, refused=refused, deps=deps)

    def record(self, verb: str, obj, changes: dict) -> None:
        clean = {}
        for name, value in changes.items():
            clean[name] = "changed" if name in self.secret_fields else value
        audit.record(f"{self.slug}.{verb}", actor=current_user, obj=obj, object_type=self.object_type,
                     changes=clean)


# --------------------------------------------------------------------------- helpers


_SENTINEL = 987654321


def row_link(endpoint: str, key: str, value, **kwargs) -> str:
    """url_for for one row among many: the URL is built once per request and the id substituted
    (url_for per row was a large share of a 100-row page's time)."""
    cache = g.setdefault("_admin_row_links", {})
    signature = (endpoint, key, tuple(sorted(kwargs.items())))
    if signature not in cache:
        cache[signature] = url_for(endpoint, **{key: _SENTINEL}, **kwargs)
    return cache[signature].replace(str(_SENTINEL), str(value))


def register(admin_class):
    """Register a ModelAdmin subclass (usable as a decorator); returns the class."""
    admin = admin_class()
    if admin.slug in registry:
        raise ValueError(f"an admin is already registered at /admin/{admin.slug}/")
    registry[admin.slug] = admin
    admin.register_routes()
    return admin_class


def admin_for(object_type: str) -> ModelAdmin | None:
    return next((a for a in registry.values() if a.object_type == object_type), None)


def like_pattern(q: str) -> str:
    """A case-insensitive substring pattern for ILIKE, with % and _ in `q` matched literally."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def csv_cell(value) -> str:
    """A CSV cell that spreadsheets will not run as a formula (OWASP: prefix a quote)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = str(value)
    if text.startswith(CSV_DANGEROUS):
        return "'" + text
    return text


def explain_dependents(deps: list[tuple[str, int]]) -> str:
    if not deps:
        return ""
    parts = [f"{count} {table.replace('_', ' ')} row{'s' if count != 1 else ''}" for table, count in deps]
    return ("It cannot be deleted while other rows depend on it: " + ", ".join(parts)
            + ". Change or delete those first.")


def integrity_message(exc) -> str:
    if isinstance(exc, DataError):
        return "A value is out of range or in the wrong format for the database."
    detail = str(getattr(exc.orig, "diag", None) and exc.orig.diag.message_detail or "").strip()
    if "already exists" in detail:
        return "A row with these values already exists: " + detail.split("=", 1)[-1]
    return "The database refused this change" + (f": {detail}" if detail else ".")


def now() -> datetime:
    return datetime.now(timezone.utc)


def fk_choices(model, label=str, blank: str | None = "—", order=None, where=None):
    """(id, label) choices for a foreign-key select (small tables only)."""
    stmt = sa.select(model).order_by(order if order is not None else model.id)
    if where is not None:
        stmt = stmt.where(where)
    choices = [(row.id, label(row)) for row in db.session.scalars(stmt)]
    return ([(None, blank)] if blank is not None else []) + choices


def optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


__all__ = [
    "Action", "BoolFilter", "ChoiceFilter", "Column", "DeleteRefused", "Filter", "ModelAdmin", "RecentFilter",
    "admin_for", "csv_cell", "fk_choices", "like_pattern", "optional_int", "register", "registry",
]

