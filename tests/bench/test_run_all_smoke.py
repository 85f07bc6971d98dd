"""`make bench` (bench/run_all.py) runs the benchmarks one after another in any order: here the
card page after the earn benchmark, the order in which the card page's client once got 301 because
the earn benchmark had already loaded production settings in the same process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmarks run on PostgreSQL")
def test_the_card_benchmark_runs_after_the_earn_benchmark():
    db = connection.settings_dict
    # A database of its own (created and migrated by the benchmarks), beside the test database.
    url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}_bench_order"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TESTING", "DJANGO_SETTINGS_MODULE")}

    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [
            sys.executable,
            "bench/run_all.py",
            "--only",
            "earn_api,card_page",
            "--scale",
            "0.01",
            "--database-url",
            url,
        ],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )

    _drop_database(db, f"{db['NAME']}_bench_order")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "=== card_page ===" in result.stdout
    assert "card page / framework floor throughput" in result.stdout
    assert "earn API / framework floor throughput" in result.stdout


def _drop_database(db: dict, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
