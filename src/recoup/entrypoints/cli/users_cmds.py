"""``recoup users add|list|roles|disable|enable|password`` and ``recoup keys create|list|revoke``.

Whoever runs these has the database already, so they need no login: this is how the first
admin is made. Passwords are read from a hidden prompt, or with ``--password-stdin`` from the
first line of standard input (for scripts); never from an argument, which would land in the
shell history and the process list.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from recoup.adapters.passwords import Argon2Credentials
from recoup.domain.errors import InvalidInputError, Location
from recoup.domain.identity import role_names
from recoup.entrypoints.cli.common import console, get_app, guarded, print_json
from recoup.services import identity

users_app = typer.Typer(
    help="People who log in to the pages and the API: add, list, roles, disable, password.",
    no_args_is_help=True,
)
keys_app = typer.Typer(
    help="API keys for machines: create (the token is shown once), list, revoke.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="the user's name (letters, digits, . _ @ -)")]
Roles = Annotated[
    list[str],
    typer.Option("--role", help="viewer, operator, approver, admin or auditor; repeatable"),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]
Actor = Annotated[str, typer.Option(help="who is doing it (kept on the audit record)")]
Json = Annotated[bool, typer.Option("--json", help="print JSON")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        raise InvalidInputError("no terminal to ask for the password: use --password-stdin",
                                location=Location(field="--password-stdin"))  # fmt: skip
    if not password:
        raise InvalidInputError("the password is empty", location=Location(field="password"))
    return password


@users_app.command("add")
@guarded
def add_user(
    name: Name, role: Roles, password_stdin: PasswordStdin = False, actor: Actor = "cli"
) -> None:
    """Add a user with roles; the password is asked for (or read with --password-stdin)."""
    app = get_app()
    password = _password(password_stdin)
    user = identity.create_user(name, password, role, actor=f"user:{actor}", uow=app.uow,
                                clock=app.clock, credentials=Argon2Credentials(),
                                settings=app.settings.web)  # fmt: skip
    console.print(f"user {user.name} added with roles {', '.join(role_names(user.roles))}")


@users_app.command("list")
@guarded
def list_users(as_json: Json = False) -> None:
    """Users with their roles and whether they may log in."""
    users = identity.list_users(reader=get_app().reader)
    if as_json:
        print_json([identity.user_json(u) for u in users])
        return
    table = Table(title=f"{len(users)} users")
    for column in ("name", "roles", "active", "since"):
        table.add_column(column, overflow="fold")
    for u in users:
        table.add_row(u.name, ", ".join(role_names(u.roles)), "yes" if u.is_active else "no",
                      u.created_at.date().isoformat())  # fmt: skip
    console.print(table)


@users_app.command("roles")
@guarded
def set_roles(name: Name, role: Roles, actor: Actor = "cli") -> None:
    """Replace a user's roles; their sessions end so the new roles apply at once."""
    app = get_app()
    user = identity.set_roles(name, role, actor=f"user:{actor}", uow=app.uow, clock=app.clock)
    console.print(f"user {user.name} now has roles {', '.join(role_names(user.roles))}")


@users_app.command("disable")
@guarded
def disable_user(name: Name, actor: Actor = "cli") -> None:
    """Stop a user from logging in and end their sessions (the user and their trail stay)."""
    app = get_app()
    user = identity.disable_user(name, actor=f"user:{actor}", uow=app.uow, clock=app.clock)
    console.print(f"user {user.name} is disabled")


@users_app.command("enable")
@guarded
def enable_user(name: Name, actor: Actor = "cli") -> None:
    """Let a disabled user log in again."""
    app = get_app()
    user = identity.enable_user(name, actor=f"user:{actor}", uow=app.uow, clock=app.clock)
    console.print(f"user {user.name} is enabled")


@users_app.command("password")
@guarded
def set_password(name: Name, password_stdin: PasswordStdin = False, actor: Actor = "cli") -> None:
    """Set a user's password; their sessions end."""
    app = get_app()
    password = _password(password_stdin)
    user = identity.set_password(name, password, actor=f"user:{actor}", uow=app.uow,
                                 clock=app.clock, credentials=Argon2Credentials(),
                                 settings=app.settings.web)  # fmt: skip
    console.print(f"password of {user.name} changed; their sessions have ended")


@keys_app.command("create")
@guarded
def create_key(
    name: Annotated[str, typer.Argument(help="what uses the key, for example ci or erp-sync")],
    role: Roles,
    actor: Actor = "cli",
    as_json: Json = False,
) -> None:
    """Make an API key and print its token once: it cannot be shown again."""
    app = get_app()
    made = identity.create_key(name, role, actor=f"user:{actor}", uow=app.uow, clock=app.clock,
                               credentials=Argon2Credentials())  # fmt: skip
    if as_json:
        print_json({**identity.key_json(made.key), "token": made.token})
        return
    console.print(f"key {made.key.name} (id {made.key.id}) with roles "
                  f"{', '.join(role_names(made.key.roles))}; its token, shown this once:",
                  soft_wrap=True)  # fmt: skip
    console.file.write(made.token + "\n")
    console.print("send it as 'Authorization: Bearer <token>'")


@keys_app.command("list")
@guarded
def list_keys(as_json: Json = False) -> None:
    """API keys (never their secrets)."""
    keys = identity.list_keys(reader=get_app().reader)
    if as_json:
        print_json([identity.key_json(k) for k in keys])
        return
    table = Table(title=f"{len(keys)} API keys")
    for column in ("id", "name", "roles", "created", "by", "revoked"):
        table.add_column(column, overflow="fold")
    for k in keys:
        table.add_row(k.id, k.name, ", ".join(role_names(k.roles)),
                      k.created_at.date().isoformat(), k.created_by,
                      k.revoked_at.isoformat() if k.revoked_at else "-")  # fmt: skip
    console.print(table)


@keys_app.command("revoke")
@guarded
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="the key's id (or name)")], actor: Actor = "cli"
) -> None:
    """Revoke a key: it stops working at once."""
    app = get_app()
    key = identity.revoke_key(key_id, actor=f"user:{actor}", uow=app.uow, clock=app.clock)
    console.print(f"key {key.name} (id {key.id}) is revoked")
