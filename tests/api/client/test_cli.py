"""The ``raylake`` command through its real entry point (a subprocess) against the test platform: login
(password prompted, saved 0600), upload, train with --wait, list, predict, events, and a failing run's exit
status and message."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.conftest import once_per_session
from tests.datafiles import training_csv
from tests.factories import PASSWORD, unique

pytestmark = pytest.mark.ray
SCRIPT = Path(sys.executable).parent / "raylake"


def command() -> list[str]:
    """The installed console script, or the module when the client is installed without scripts."""
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "raylake_client.cli"]


def environment(config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAYLAKE_URL", "RAYLAKE_API_KEY")}
    return {**env, "RAYLAKE_CONFIG_DIR": str(config_dir), "COLUMNS": "200", "NO_COLOR": "1"}


@dataclass
class Cli:
    url: str
    username: str
    config_dir: Path

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        # A new session: no controlling terminal, so a hidden prompt reads its answer from stdin.
        return subprocess.run(
            [*command(), *args],
            env=environment(self.config_dir),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )

    def ok(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        done = self(*args, **kwargs)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*command(), *args],
            env=environment(self.config_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )


@pytest.fixture(scope="module")
def cli(api, tmp_path_factory) -> Cli:
    tenant_id = api.new_tenant()
    user, _ = api.new_user(tenant_id, ["data_scientist"])
    return Cli(str(api.client.base_url), user["username"], tmp_path_factory.mktemp("raylake-config"))


def test_login_prompts_for_the_password_and_saves_0600(cli: Cli, tmp_path: Path):
    done = cli.ok("login", "--url", cli.url, "--username", cli.username, input=PASSWORD + "\n")
    assert f"as {cli.username}" in done.stdout
    saved = cli.config_dir / "config.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    body = json.loads(saved.read_text())
    assert body["url"] == cli.url.rstrip("/") and body["tokens"]["refresh_token"]
    assert PASSWORD not in saved.read_text()
    assert cli.username in cli.ok("whoami").stdout

    wrong = Cli(cli.url, cli.username, tmp_path)(
        "login", "--url", cli.url, "-u", cli.username, input="nope-nope\n"
    )
    assert wrong.returncode == 1 and "401" in wrong.stderr and "Traceback" not in wrong.stderr
    assert not (tmp_path / "config.json").exists()
    nobody = Cli(cli.url, cli.username, tmp_path)("models", "list")
    assert nobody.returncode == 2 and "raylake login" in nobody.stderr


def test_an_api_key_made_and_used_through_the_cli(cli: Cli, tmp_path: Path):
    cli.ok("login", "--url", cli.url, "--username", cli.username, "--password", PASSWORD)
    made = cli.ok("keys", "create", unique("ci-"), "--role", "data_scientist")
    key = made.stdout.strip()
    assert key.startswith("rlk_") and "not shown again" in made.stderr
    keyed = Cli(cli.url, cli.username, tmp_path)
    # asked "API key or user name", a key needs no password
    done = keyed.ok("login", "--url", cli.url, input=key + "\n")
    assert f"as {cli.username}" in done.stdout
    assert json.loads((tmp_path / "config.json").read_text())["api_key"] == key
    assert cli.username in keyed.ok("whoami").stdout
    key_id = _id(r"(\d+) .*" + re.escape(key[:8]), cli.ok("keys", "list").stdout)
    cli.ok("keys", "revoke", str(key_id))


def _id(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, (pattern, text)
    return int(found.group(1))


def test_upload_train_wait_list_and_predict(api, cli: Cli, tmp_path: Path):
    once_per_session(api)
    cli.ok("login", "--url", cli.url, "--username", cli.username, "--password", PASSWORD)
    data = tmp_path / "churn.csv"
    data.write_bytes(training_csv(150, seed=6))
    uploaded = cli.ok("datasets", "upload", str(data), "--name", unique("cli-"))
    dataset_id = _id(r"dataset (\d+) ", uploaded.stdout)
    assert "150 of 150 rows valid" in uploaded.stdout

    name = unique("cli-churn-")
    args = ["--dataset", str(dataset_id), "--name", name, "--target", "Churn", "--id", "CustomerID"]
    trained = cli.ok("train", *args, "--ignore", "Spend", "--ignore", "Score", "--wait")
    train_id = _id(r"run (\d+) completed", trained.stdout)
    assert "100%" in trained.stderr  # the progress bar's final state
    assert name in cli.ok("models", "list", "--search", name).stdout
    assert re.search(rf"{train_id} .*{name}.*completed", cli.ok("runs", "list").stdout)

    rows = tmp_path / "new.csv"
    rows.write_text(
        "CustomerID,Tenure,Monthly,Plan,Joined\nN1,3,80,Basic,2024-02-01\nN2,60,20,Gold,2019-05-01\n"
    )
    out = tmp_path / "out.csv"
    cli.ok("predict", str(train_id), str(rows), "-o", str(out))
    lines = out.read_text().splitlines()
    assert lines[0].startswith("CustomerID,Tenure,Monthly,Plan,Joined,prediction,probability_")
    assert [line.split(",")[0] for line in lines[1:]] == ["N1", "N2"]
    by_name = cli.ok("predict", name, str(rows))  # a registered model by name, to stdout
    assert by_name.stdout.splitlines()[0] == lines[0]


def test_a_failing_run_exits_1_with_the_reason_and_its_event(api, cli: Cli, tmp_path: Path):
    once_per_session(api)
    cli.ok("login", "--url", cli.url, "--username", cli.username, "--password", PASSWORD)
    events = cli.popen("events", "--type", "run.failed", "--count", "1", "--timeout", "300")
    try:
        assert events.stderr is not None and "subscribed" in events.stderr.readline()
        template = cli.ok(
            "templates", "create", unique("nan-"), "-c", "CustomerID:String", "-c", "X:Float", "-c", "Y:Float"
        )
        template_id = _id(r"template (\d+) ", template.stdout)
        # Y parses as Float everywhere, but only 5 values are finite: the job finds too few labels.
        lines = ["CustomerID,X,Y", *(f"C{i},{i},{i if i < 5 else 'nan'}" for i in range(40))]
        data = tmp_path / "nan.csv"
        data.write_text("\n".join(lines) + "\n")
        uploaded = cli.ok("datasets", "upload", str(data), "--template", str(template_id))
        dataset_id = _id(r"dataset (\d+) ", uploaded.stdout)
        args = ["--dataset", str(dataset_id), "--name", unique("nan-"), "--target", "Y", "--id", "CustomerID"]
        failed = cli("train", *args, "--problem-type", "Regression", "--wait")
        assert failed.returncode == 1, (failed.stdout, failed.stderr)
        train_id = _id(r"run (\d+) submitted", failed.stdout)
        assert f"run {train_id}" in failed.stderr and "failed" in failed.stderr
        assert "training needs at least 10" in failed.stderr and "Traceback" not in failed.stderr
        out, _ = events.communicate(timeout=120)
    finally:
        if events.poll() is None:
            events.kill()
    event = json.loads(out.splitlines()[0])
    assert event["type"] == "run.failed" and event["data"]["train_id"] == train_id


def test_runs_logs(api, cli: Cli):
    if "/api/v1/train/logs" not in api.client.get("/openapi.json").json()["paths"]:
        pytest.skip("GET /api/v1/train/logs is not on this server yet")
    once_per_session(api)
    cli.ok("login", "--url", cli.url, "--username", cli.username, "--password", PASSWORD)
    listed = cli.ok("runs", "list").stdout
    train_id = _id(r"\s(\d+) .*completed", listed)
    assert cli.ok("runs", "logs", str(train_id)).stdout.strip()
