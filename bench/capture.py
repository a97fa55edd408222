"""What prediction capture costs real-time predictions (figures go to bench/RESULTS.md):

1. Through the platform: ``POST /api/v1/inference/`` (one row per request) on one LightGBM model of 12
   mixed-type features, req/s and p50/p99 at 8 and 32 clients with the model's capture on and off
   (``PATCH /api/v1/models/{id}`` between runs), interleaved over ``--rounds`` rounds on the same model
   so machine noise hits both alike; then the rows captured, read back through the API.
2. In process: the cost of one ``CaptureBuffer.add`` on the hot path, and of one background append
   of ``RAYLAKE_CAPTURE_MAX_ROWS`` rows (frame + Iceberg commit) into a throw-away warehouse.

Needs a running platform (`make run`) for part 1; reads the same RAYLAKE_* settings. Usage:
`.venv/bin/python bench/capture.py [--rounds 3] [--skip platform inprocess]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path
from types import SimpleNamespace

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.client import login
from bench.inference import frame, one_row, train, upload_frame
from bench.loadgen import Result, measure
from raylake.platform.config import Settings, resolve_settings

JSON = {"Content-Type": "application/json"}
TOTAL = {8: 4000, 32: 6000}


def set_capture(base: str, headers: dict[str, str], model_id: int, on: bool) -> None:
    resp = httpx.patch(
        f"{base}/api/v1/models/{model_id}", json={"capture_predictions": on}, headers=headers, timeout=60
    )
    resp.raise_for_status()
    assert resp.json()["capture_predictions"] is on


def captured(base: str, headers: dict[str, str], model_id: int) -> int:
    resp = httpx.get(
        f"{base}/api/v1/models/{model_id}/predictions", params={"limit": 1}, headers=headers, timeout=600
    )
    resp.raise_for_status()
    return resp.json()["total"]


def through_platform(base: str, headers: dict[str, str], rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        dataset = upload_frame(base, headers, frame(20_000, 1), "t", Path(tmp))
    run = train(base, headers, dataset["dataset_id"])
    model_id = run["predictor_id"]
    body = json.dumps({"train_id": run["id"], "features": one_row()}).encode()
    url = f"{base}/api/v1/inference/"
    check = httpx.post(url, content=body, headers=headers | JSON, timeout=60)
    assert check.status_code == 200, check.text
    print(f"model {model_id}, version run {run['id']}", flush=True)
    results: dict[tuple[int, bool], list[Result]] = {}
    expected = captured(base, headers, model_id)
    for r in range(rounds):
        for clients in (8, 32):
            # alternate which goes first, so a trend over the run does not favour one setting
            for on in (True, False) if (r + clients) % 2 == 0 else (False, True):
                set_capture(base, headers, model_id, on)
                name = f"capture {'on' if on else 'off'}"
                result = measure(
                    name, url, headers=headers, concurrency=clients, total=TOTAL[clients], body=body
                )
                results.setdefault((clients, on), []).append(result)
                if on:
                    expected += result.requests + 200 // clients * clients  # warm-up calls too
                    captured(base, headers, model_id)  # written before capture is turned off
                print(f"round {r + 1}: {result.row()}", flush=True)
    set_capture(base, headers, model_id, True)
    time.sleep(3)
    rows = captured(base, headers, model_id)
    print(
        "\n| clients | capture | p50 ms (median of rounds) | p99 ms | req/s (median) | req/s per round "
        "| errors |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for clients in (8, 32):
        for on in (False, True):
            got = results[(clients, on)]
            rps = [r.rps for r in got]
            print(
                f"| {clients} | {'on' if on else 'off'} | {statistics.median(r.p50_ms for r in got):.2f} "
                f"| {statistics.median(r.p99_ms for r in got):.2f} | {statistics.median(rps):,.0f} "
                f"| {', '.join(f'{x:,.0f}' for x in rps)} | {sum(r.errors for r in got)} |"
            )
        off = statistics.median(r.rps for r in results[(clients, False)])
        on_ = statistics.median(r.rps for r in results[(clients, True)])
        print(f"| {clients} | cost | | | {100 * (1 - on_ / off):+.1f}% | | |")
    print(f"\nrows captured: {rows:,} (calls made with capture on, warm-ups included: {expected:,})")


def in_process(settings: Settings) -> None:
    """The hot path's share (one buffer add) and the background append of one full buffer."""
    from raylake.platform import lake
    from raylake.platform.monitoring import buffer as capture_buffer
    from raylake.platform.monitoring import capture

    columns = [{"name": n, "data_type": "Float", "attribute": "Feature"} for n in ("num0", "num1", "num2")]
    columns += [{"name": n, "data_type": "String", "attribute": "Feature"} for n in ("plan", "region")]
    columns += [{"name": "id", "data_type": "String", "attribute": "Id"}]
    run = SimpleNamespace(
        id=1, predictor_id=1, tenant_id="t", version=1, problem_type="Classification", columns=columns
    )
    row = {"num0": 0.1, "num1": -1.2, "num2": 3.0, "plan": "basic", "region": "r7"}
    answer = [{"prediction": "true", "probabilities": {"false": 0.3, "true": 0.7}}]
    source = capture.CaptureSource.REALTIME
    with tempfile.TemporaryDirectory() as tmp:
        ctx = lake.open_lake(Settings(data_dir=Path(tmp), _env_file=None))
        # No store: its writer thread waits an hour, so only the adds are timed.
        buf = capture_buffer.CaptureBuffer(ctx, None, flush_s=3600, max_rows=10**9)  # type: ignore[arg-type]
        calls = 100_000
        seconds = timeit.timeit(
            lambda: buf.add(run, source=source, caller="bench", rows=[row], sent=[row], results=answer),
            number=calls,
        )
        print(f"CaptureBuffer.add: {seconds / calls * 1e6:.2f} us per call ({calls:,} one-row calls)")
        pending = buf._pending[: settings.capture_max_rows]
        version = capture.model_version(run)
        table = ctx.catalog.create_table(
            lake.identifier("gold", "bench_capture"),
            schema=capture.table_schema(version.inputs),
            partition_spec=capture.PARTITION,
        )
        built, appended = [], []
        for _ in range(5):
            start = time.perf_counter()
            rows = capture_buffer.frame_of(pending)
            built.append(time.perf_counter() - start)
            capture.append(table, [rows])
            appended.append(time.perf_counter() - start)
        print(
            f"one flush of {len(pending):,} rows (median of 5): "
            f"frame {statistics.median(built) * 1000:.1f} ms, "
            f"frame + Iceberg append {statistics.median(appended) * 1000:.1f} ms "
            f"({len(pending) / statistics.median(appended):,.0f} rows/s on one thread)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], choices=["platform", "inprocess"])
    args = parser.parse_args()
    settings = resolve_settings(Settings())
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}; "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    if "inprocess" not in args.skip:
        in_process(settings)
    if "platform" not in args.skip:
        base = f"http://{settings.host}:{settings.port}"
        through_platform(base, login(base, settings), args.rounds)
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
