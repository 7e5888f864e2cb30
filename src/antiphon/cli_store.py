"""``antiphon store migrate``: bring a PostgreSQL store's schema up to date ahead of start-up.

Workers migrate the schema themselves when they start (one at a time, under an advisory lock);
running the migration first, from a deploy step, keeps a schema change out of the workers'
start-up and shows its outcome in one place.
"""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from antiphon.exceptions import AntiphonError
from antiphon.store.factory import is_postgres_url

__all__ = ["register_store_commands"]

store_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Manage the response store.",
)


@store_app.command(
    help="Create or upgrade the tables of a PostgreSQL store (idempotent). SQLite files are "
    "migrated by the server itself when it opens them.",
    short_help="Apply the schema migrations of a PostgreSQL store.",
    epilog="Example:\n\n\b\n  antiphon store migrate --store postgresql://antiphon@db/antiphon",
)
def migrate(
    store: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="The PostgreSQL store, postgresql://... Env: ANTIPHON_STORE."
        ),
    ] = None,
) -> None:
    """Apply the missing schema migrations (``antiphon store migrate``)."""
    url = store or os.environ.get("ANTIPHON_STORE", "").strip()
    if not url or not is_postgres_url(url):
        typer.echo("antiphon store migrate: --store must be a postgresql:// URL", err=True)
        raise typer.Exit(2)
    try:
        from antiphon.store.postgres import migrate_database
    except ImportError as exc:
        typer.echo(f"antiphon store migrate: needs antiphon[postgres] ({exc})", err=True)
        raise typer.Exit(2) from exc
    try:
        before, after = asyncio.run(migrate_database(url))
    except AntiphonError as exc:
        typer.echo(f"antiphon store migrate: {exc}", err=True)
        raise typer.Exit(1) from exc
    if before == after:
        typer.echo(f"schema version {after}: up to date")
    else:
        typer.echo(f"schema version {before} -> {after}")


def register_store_commands(app: typer.Typer) -> None:
    """Add ``antiphon store ...`` to the ``antiphon`` command."""
    app.add_typer(store_app, name="store")
