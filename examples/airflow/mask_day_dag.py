"""Mask one day of staged extracts with `mask batch`, sharded by Airflow's dynamic task mapping.

    plan  ->  shard (one mapped task per shard, each retried on its own)  ->  finalize

`plan` runs `mask batch --plan N` (the listing only, no key) and returns the shard arguments;
`shard.expand()` runs one `mask batch --shard K/N` per element; a retried shard skips what it
already committed. `finalize` runs `mask batch --finalize`, which writes `_batch_manifest.json`
and `_SUCCESS` only when every input of the day is committed, and fails naming what is missing
otherwise. Loaders (a BigQuery load task after `finalize`) wait for `_SUCCESS`.

Settings, as Airflow Variables (or AIRFLOW_VAR_<NAME> environment variables):
  mask_input_root    e.g. s3://raw/orders or gs://raw/orders; the day's folder is <root>/<ds>/
  mask_output_root   e.g. s3://masked/orders
  mask_hmac_secret   the HMAC key. Its name contains "secret", so Airflow masks its value in the
                     UI and in task logs. (Or keep it in a secrets backend under the same name.)
Environment of the workers: MASK_BIN (default: mask on PATH), MASK_RULES (default
/rules/pii.yaml), MASK_SHARDS (default 4), and the store's credentials (AWS_*, or Google ADC).

On Cloud Composer, put this file in the environment's dags/ folder and install the mask Debian
package (or run the same commands in a KubernetesPodOperator with the image from deploy/).
Checked by Tests/MaskCLITests/AirflowDAGTests.swift with real Airflow (`airflow dags test`).
"""
from __future__ import annotations

import json
import os
import subprocess

import pendulum
from airflow.decorators import dag, task
from airflow.exceptions import AirflowFailException
from airflow.models import Variable

MASK = os.environ.get("MASK_BIN", "mask")
RULES = os.environ.get("MASK_RULES", "/rules/pii.yaml")
SHARDS = int(os.environ.get("MASK_SHARDS", "4"))


def _day(ds: str) -> list[str]:
    source = Variable.get("mask_input_root").rstrip("/")
    target = Variable.get("mask_output_root").rstrip("/")
    return ["--input", f"{source}/{ds}/", "--output", f"{target}/{ds}/", "--rules", RULES]


def _mask_batch(arguments: list[str], with_key: bool) -> str:
    """Runs `mask batch`; its stderr (per-file lines, never a secret) goes to the task log."""
    environment = dict(os.environ)
    if with_key:
        environment["MASK_HMAC_KEY"] = Variable.get("mask_hmac_secret")
    result = subprocess.run([MASK, "batch", *arguments], env=environment, capture_output=True, text=True, check=False)
    print(result.stderr, end="")
    if result.returncode == 2:
        # A rules or usage error: no retry can fix it.
        raise AirflowFailException(f"mask batch refused its arguments or rules (exit 2)")
    if result.returncode != 0:
        raise RuntimeError(f"mask batch exited {result.returncode}")
    return result.stdout


@dag(
    dag_id="mask_orders_day",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    tags=["mask"],
)
def mask_orders_day():
    @task
    def plan(ds: str | None = None) -> list[str]:
        shares = json.loads(_mask_batch(["--plan", str(SHARDS), *_day(ds)], with_key=False))
        return [share["shard"] for share in shares]

    @task(retries=3, retry_delay=pendulum.duration(seconds=30), retry_exponential_backoff=True)
    def shard(shard: str, ds: str | None = None) -> None:
        _mask_batch(["--shard", shard, *_day(ds), "-q"], with_key=True)

    @task(retries=2, retry_delay=pendulum.duration(minutes=1))
    def finalize(ds: str | None = None) -> None:
        _mask_batch(["--finalize", *_day(ds), "-q"], with_key=True)

    shard.expand(shard=plan()) >> finalize()


mask_orders_day()
