"""The ``raylake`` command: log in once, then upload, train (with a progress bar), list, predict, follow
events. An API error prints the server's message and exits 1; so does a run that fails."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from raylake_client import config
from raylake_client._http import Tokens, Transport
from raylake_client.client import KEY_ENV, URL_ENV, Client
from raylake_client.errors import RaylakeError
from raylake_client.models import RunInfo
from raylake_client.training import Run

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
API_KEY_PREFIX = "rlk_"


class Group(click.Group):
    """Runs a command and turns the API's errors into a message on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RaylakeError as exc:
            err.print(f"[red]Error:[/red] {escape(str(exc))}", highlight=False)
            ctx.exit(1)


def client() -> Client:
    """A client from ``RAYLAKE_URL``/``RAYLAKE_API_KEY``, else from the saved login (whose rotated tokens
    are saved back as they change)."""
    if os.environ.get(KEY_ENV):
        return Client(os.environ.get(URL_ENV), api_key=os.environ[KEY_ENV])
    saved = config.load()
    if saved is None:
        raise click.UsageError("not logged in: run `raylake login` (or set RAYLAKE_URL and RAYLAKE_API_KEY)")
    url = os.environ.get(URL_ENV) or saved.url
    if saved.api_key:
        return Client(url, api_key=saved.api_key)

    def keep(tokens: Tokens) -> None:
        saved.tokens = tokens
        config.save(saved)

    return Client(url, tokens=saved.tokens, username=saved.username, on_tokens=keep)


@click.group(cls=Group)
@click.version_option(package_name="raylake-client")
def main() -> None:
    """raylake from the terminal: log in once (`raylake login`), then work with the platform."""


@main.command()
@click.option("--url", envvar=URL_ENV, help="The platform, e.g. http://127.0.0.1:8000")
@click.option("--api-key", help="An API key (rlk_...) instead of a user name and password")
@click.option("--username", "-u", help="Log in as this user (the password is prompted for)")
@click.option("--password", help="The password (prompted for, hidden, when not given)")
def login(url: str | None, api_key: str | None, username: str | None, password: str | None) -> None:
    """Log in and save the URL and key (or the login's tokens) in your config dir, mode 0600."""
    url = url or click.prompt("Platform URL", default="http://127.0.0.1:8000")
    if not api_key and not username:
        answer = click.prompt("API key or user name")
        api_key, username = (answer, None) if answer.startswith(API_KEY_PREFIX) else (None, answer)
    if api_key:
        me = Client(url, api_key=api_key).me()
        where = config.save(config.Saved(url=url, api_key=api_key))
    else:
        password = password or click.prompt("Password", hide_input=True)
        transport = Transport(url, username=username, password=password)
        tokens = transport.login()
        me = Client(url, tokens=tokens).me()
        where = config.save(config.Saved(url=transport.url, username=username, tokens=tokens))
    out.print(f"Logged in to {url} as {me.username} (tenant {me.tenant_id}); saved in {where}")


@main.command()
def logout() -> None:
    """Forget the saved login (and end its refresh token on the server)."""
    saved = config.load()
    if saved and saved.tokens and saved.tokens.refresh_token:
        transport = Transport(saved.url)
        transport.http.post("/logout", json={"refresh_token": saved.tokens.refresh_token})
    out.print("Logged out" if config.forget() else "Not logged in")


@main.command()
def whoami() -> None:
    """Who the saved credential is."""
    me = client().me()
    out.print(f"{me.username} (tenant {me.tenant_id}): {', '.join(sorted(me.permissions))}")


@main.group()
def keys() -> None:
    """API keys: machine credentials for scripts, services and notebooks."""


@keys.command("create")
@click.argument("name")
@click.option("--role", help="The key holds this role's permissions (never more than yours)")
@click.option("--permission", "permissions", multiple=True, help="Or these permissions (repeatable)")
def keys_create(name: str, role: str | None, permissions: tuple[str, ...]) -> None:
    """Create a key; it is printed once, on stdout, and never shown again."""
    created = client().api_keys.create(name, role=role, permissions=list(permissions) or None)
    err.print(f"API key {created.id} ({created.name}): keep it now, it is not shown again")
    click.echo(created.key)


@keys.command("list")
def keys_list() -> None:
    """List your API keys (never the keys themselves)."""
    table = Table("id", "name", "prefix", "role", "expires", "last used", "revoked")
    for k in client().api_keys.list():
        dates = (k.expires_at, k.last_used_at, k.revoked_at)
        table.add_row(str(k.id), k.name, k.prefix, k.role or "", *(str(d or "") for d in dates))
    out.print(table)


@keys.command("revoke")
@click.argument("key_id", type=int)
def keys_revoke(key_id: int) -> None:
    """Revoke an API key by id."""
    client().api_keys.revoke(key_id)
    out.print(f"API key {key_id} revoked")


# --- data ------------------------------------------------------------------------------------------


@main.group()
def templates() -> None:
    """Templates: the tenant's data contracts."""


@templates.command("list")
def templates_list() -> None:
    """List the tenant's templates."""
    table = Table("id", "name", "columns", "created by")
    for t in client().templates.list():
        table.add_row(str(t.id), t.template_name, str(t.no_of_columns), t.created_by)
    out.print(table)


@templates.command("create")
@click.argument("name")
@click.option(
    "--column", "-c", "columns", multiple=True, required=True, help="NAME:TYPE, in order (repeatable)"
)
def templates_create(name: str, columns: tuple[str, ...]) -> None:
    """Create a template from NAME:TYPE columns (String, Integer, Float, Boolean, Date, DateTime)."""
    schema = {}
    for spec in columns:
        column, sep, kind = spec.rpartition(":")
        if not sep or not column:
            raise click.BadParameter(f"{spec!r} is not NAME:TYPE", param_hint="--column")
        schema[column] = kind
    template = client().templates.create(name, schema)
    out.print(f"template {template.id} ({template.template_name}): {template.no_of_columns} columns")


@main.group()
def datasets() -> None:
    """Datasets: uploads validated against a template."""


@datasets.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--template", "template_id", type=int, help="Validate against this template's id")
@click.option("--name", help="The dataset's name (default: the file's)")
@click.option(
    "--usage", type=click.Choice(["t", "p"]), default="t", show_default=True, help="t: train, p: predict"
)
def datasets_upload(file: Path, template_id: int | None, name: str | None, usage: str) -> None:
    """Upload a CSV or Parquet FILE; prints the validation report."""
    report = client().datasets.upload(file, name=name, template=template_id, usage=usage)
    out.print(
        f"dataset {report.dataset_id} ({report.dataset_name}): {report.valid_records} of "
        f"{report.total_records} rows valid ({report.dataset_usability} usable)"
    )
    for f in report.files:
        for column, entry in ((f.error_report or {}).get("columns") or {}).items():
            if entry.get("bad_values"):
                shown = ", ".join(map(repr, entry.get("sample_values", [])))
                out.print(f"  {column} ({entry.get('data_type')}): {entry['bad_values']} bad, e.g. {shown}")


@datasets.command("list")
def datasets_list() -> None:
    """List the tenant's datasets."""
    table = Table("id", "name", "rows", "valid", "usage", "template")
    for d in client().datasets.list():
        table.add_row(
            str(d.id), d.dataset_name, str(d.total_records), str(d.valid_records), d.usage, str(d.template_id)
        )
    out.print(table)


# --- training --------------------------------------------------------------------------------------


def _follow(run: Run) -> RunInfo:
    """Wait for a run with a rich progress bar on stderr; prints how it ended (RunFailed raises)."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(f"run {run.id}", total=100)

        def show(info: RunInfo) -> None:
            bar.update(
                task, completed=info.percent, description=f"run {info.id} {info.train_status}: {info.stage}"
            )

        return run.wait(progress=show)


def _ended(info: RunInfo) -> str:
    score = f", accuracy {info.accuracy:.3f}" if info.accuracy is not None else ""
    return f"run {info.id} {info.train_status} ({info.model_algorithm or info.algorithm}{score})"


@main.command()
@click.option("--dataset", "dataset_id", type=int, required=True, help="The training dataset's id")
@click.option("--name", "predictor_name", required=True, help="The predictor (model) name")
@click.option("--target", required=True, help="The column to predict")
@click.option(
    "--problem-type",
    default="Classification",
    show_default=True,
    help="Classification, Regression, Forecasting",
)
@click.option("--id", "id_columns", multiple=True, help="An Id column (repeatable)")
@click.option("--ignore", multiple=True, help="A column to leave out (repeatable)")
@click.option("--time", "time_column", help="The Time column (forecasting)")
@click.option("--algorithm", help="LightGBM (default), RandomForest, ..., or auto")
@click.option("--domain", default="General", show_default=True)
@click.option("--wait/--no-wait", default=False, help="Follow the run to its end with a progress bar")
def train(
    dataset_id: int,
    predictor_name: str,
    target: str,
    problem_type: str,
    id_columns: tuple[str, ...],
    ignore: tuple[str, ...],
    time_column: str | None,
    algorithm: str | None,
    domain: str,
    wait: bool,
) -> None:
    """Train a model on a dataset (a Ray job); with --wait, exit 1 with the reason if the run fails."""
    roles = {c: "Ignore" for c in ignore} | ({time_column: "Time"} if time_column else {})
    run = client().train(
        dataset_id,
        predictor_name=predictor_name,
        target=target,
        problem_type=problem_type,
        columns=roles,
        id_columns=id_columns,
        algorithm=algorithm,
        domain=domain,
    )
    out.print(f"run {run.id} submitted ({run.info.train_status})")
    if wait:
        out.print(_ended(_follow(run)))


@main.group()
def runs() -> None:
    """Training runs: list, follow, logs."""


@runs.command("list")
@click.option("--limit", type=int, default=20, show_default=True)
def runs_list(limit: int) -> None:
    """List training runs, newest first."""
    table = Table("id", "predictor", "v", "status", "stage", "%", "algorithm", "accuracy")
    for r in client().training.page(limit=limit).items:
        accuracy = "" if r.accuracy is None else f"{r.accuracy:.3f}"
        algorithm = r.model_algorithm or r.algorithm
        row = (
            str(r.id),
            r.predictor_name,
            str(r.version),
            r.train_status,
            r.stage,
            str(r.percent),
            algorithm,
        )
        table.add_row(*row, accuracy)
    out.print(table)


@runs.command("wait")
@click.argument("train_id", type=int)
def runs_wait(train_id: int) -> None:
    """Follow a run to its end (exit 1 with the reason if it fails)."""
    out.print(_ended(_follow(client().training.get(train_id))))


@runs.command("logs")
@click.argument("train_id", type=int)
@click.option("--tail", type=int, help="Only the last this many characters")
def runs_logs(train_id: int, tail: int | None) -> None:
    """Print a run's log as its Ray job wrote it."""
    click.echo(client().training.logs(train_id, tail=tail))


@main.group()
def models() -> None:
    """The model registry."""


@models.command("list")
@click.option("--search", help="Only models whose name contains this")
def models_list(search: str | None) -> None:
    """List registered models, optionally by a search term."""
    table = Table("id", "name", "task", "status", "versions", "aliases")
    for m in client().models.list(search=search):
        aliases = ", ".join(f"{a}={v}" for a, v in m.aliases.items())
        table.add_row(str(m.id), m.name, m.task, m.status, str(len(m.versions)), aliases)
    out.print(table)


# --- predictions and events ----------------------------------------------------------------------------


def _read_csv(file: Path) -> list[dict[str, Any]]:
    with file.open(newline="") as handle:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)]


def _model(c: Client, ref: str) -> tuple[Any, str | None]:
    """A run id (digits), or a registered model's name, id or uid with an optional ``@version``."""
    if ref.isdigit():
        return int(ref), None
    name, _, version = ref.partition("@")
    found = [m for m in c.models.list(search=name) if name in (m.name, m.uid)]
    if not found:
        raise click.BadParameter(f"no run or registered model {name!r}", param_hint="MODEL")
    return found[0], version or None


@main.command()
@click.argument("model")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="CSV to write (default: stdout)"
)
@click.option("--explain", is_flag=True, help="Add each column's SHAP contribution")
def predict(model: str, file: Path, output: Path | None, explain: bool) -> None:
    """Predict every row of a CSV FILE with MODEL (a run id, or a registered model's name[@version])."""
    c = client()
    which, version = _model(c, model)
    rows = c.predict(which, _read_csv(file), version=version, explain=explain)
    fields = list(dict.fromkeys(k for row in rows for k in row))
    handle = output.open("w", newline="") if output else sys.stdout
    try:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    finally:
        if output:
            handle.close()
    if output:
        err.print(f"{len(rows)} predictions written to {output}")


@main.command()
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable), e.g. run.failed")
@click.option("--count", type=int, help="Stop after this many events")
@click.option("--timeout", type=float, help="Stop when no event comes for this many seconds")
def events(types: tuple[str, ...], count: int | None, timeout: float | None) -> None:
    """Follow the tenant's live events, one JSON line each."""
    with client().events.stream(timeout=timeout) as stream:
        err.print(f"subscribed to tenant {stream.tenant_id}'s events")
        seen = 0
        try:
            for event in stream:
                if types and event.type not in types:
                    continue
                click.echo(event.model_dump_json())
                seen += 1
                if count is not None and seen >= count:
                    return
        except TimeoutError:
            return


if __name__ == "__main__":
    main()
