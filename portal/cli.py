"""`flask` commands: create-admin, seed-demo, rotate-encryption-key, worker."""
from __future__ import annotations

import click
from flask import Flask, current_app

from .extensions import db


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)
    app.cli.add_command(rotate_encryption_key)
    app.cli.add_command(worker)


@click.command("create-admin")
@click.argument("email")
@click.password_option(prompt="Password for the new admin")
def create_admin(email: str, password: str) -> None:
    """Create an admin (staff + superuser) with EMAIL; prompts for the password."""
    from .accounts.services import create_user, find_user_by_email
    from .accounts.validation import email_problem, password_problem

    problem = email_problem(email) or password_problem(password)
    if problem:
        raise click.ClickException(problem)
    if find_user_by_email(email):
        raise click.ClickException(f"A user with the email {email} already exists.")
    user = create_user(email, password, is_staff=True, is_superuser=True, verified_email=True)
    db.session.commit()
    click.echo(f"Created admin {user.email}. Sign in at /login.")


@click.command("seed-demo")
def seed_demo() -> None:
    """Add a handful of realistic rows to every table (idempotent: skips what exists)."""
    from .core.demo import seed_demo_data

    counts = seed_demo_data()
    db.session.commit()
    for table, count in counts.items():
        click.echo(f"{table}: {count} added")


@click.command("rotate-encryption-key")
@click.option("--new-key", envvar="NEW_PORTAL_ENCRYPTION_KEY", default=None,
              help="The new key (URL-safe base64, 32 bytes). Generated when omitted.")
def rotate_encryption_key(new_key: str | None) -> None:
    """Re-encrypt every stored secret under a new key, then print what to set."""
    from .crypto import rotate_all_secrets
    from .keys import new_encryption_key

    new_key = new_key or new_encryption_key()
    counts = rotate_all_secrets(new_key)
    db.session.commit()
    total = sum(counts.values())
    click.echo(f"Re-encrypted {total} secrets: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    if current_app.config["PORTAL_ENV"] != "production" and not _key_from_env():
        from pathlib import Path

        (Path(current_app.instance_path) / "encryption_key").write_text(new_key + "\n")
        click.echo("Saved the new key to instance/encryption_key.")
    else:
        click.echo("Now set PORTAL_ENCRYPTION_KEY to the new key (printed below) and keep the old one in")
        click.echo("PORTAL_ENCRYPTION_OLD_KEYS until every process has restarted.")
        click.echo(new_key)


def _key_from_env() -> bool:
    import os

    return bool(os.environ.get("PORTAL_ENCRYPTION_KEY"))


@click.command("worker")
@click.option("--concurrency", default=1, show_default=True, help="Jobs run at the same time.")
@click.option("--once", is_flag=True, help="Run the jobs queued now, then exit.")
def worker(concurrency: int, once: bool) -> None:
    """Run a background worker (GitHub/Notion syncs, periodic re-index) until stopped."""
    from .jobs.queue import retry_stalled_jobs, run_worker

    app = current_app._get_current_object()
    retry_stalled_jobs(app)  # jobs left behind by a worker that was killed
    click.echo(f"Worker started (concurrency {concurrency}); Ctrl+C stops it after the current job.")
    run_worker(app, wait=not once, concurrency=concurrency)
