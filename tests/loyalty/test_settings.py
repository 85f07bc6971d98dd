"""The settings module and the idempotent set-up commands that `make run` and deploys call."""

from __future__ import annotations

import datetime as dt
import io
import os
import sqlite3
import subprocess
import sys
import tempfile
import zoneinfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import connection, transaction
from django_q.models import Schedule

from loyalty.management.commands.setup_schedules import next_local_run
from loyalty.phones import normalise_phone
from loyalty.schedules import REPEATING, SCHEDULES

BASE_DIR = django_settings.BASE_DIR
BANGKOK = zoneinfo.ZoneInfo("Asia/Bangkok")
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-" + "k3y-Th4t-1s-L0ng-4nd-R4nd0m-" * 3,
    "ALLOWED_HOSTS": "loyalty.example.com",
    "SITE_URL": "https://loyalty.example.com",
    "FIELD_ENCRYPTION_KEY": "q5dX0mT4kb2bXbKJm8l3yY8fGSh0R0Q8pP3KZq1b6cI=",
}
on_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite-only: PostgreSQL has its own locking"
)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with only ``env`` set (no TESTING, no DEBUG, no .env
    leaks from this process), as a production machine would."""
    clean_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", tempfile.gettempdir()),
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        **env,
    }
    return subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return run_python(
        "import sys; from django.core.management import execute_from_command_line; "
        f"execute_from_command_line(['manage.py', *{list(args)!r}])",
        **env,
    )


LOAD_SETTINGS = (
    "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
)


# --- secrets and production checks ------------------------------------------------------------


def test_settings_refuse_to_load_without_secret_key_when_debug_is_off():
    result = run_python(LOAD_SETTINGS, DEBUG="false")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "Set SECRET_KEY" in result.stderr


def test_settings_refuse_to_load_without_secret_key_when_debug_is_unset():
    result = run_python(LOAD_SETTINGS)

    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_settings_load_with_a_secret_key():
    result = run_python(LOAD_SETTINGS, **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_debug_runs_without_a_secret_key():
    result = run_python(LOAD_SETTINGS, DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_check_deploy_is_clean_with_production_environment():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_secure_cookies_are_turned_off():
    """The check above can fail: a weakened production setting is reported."""
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", SECURE_COOKIES="false", **PRODUCTION_ENV
    )

    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stderr


def test_production_defaults_are_secure_and_proxy_headers_configurable():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, s.USE_X_FORWARDED_HOST]))"
    )

    default = run_python(code, **PRODUCTION_ENV)
    behind_proxy = run_python(
        code, TRUST_X_FORWARDED_PROTO="true", USE_X_FORWARDED_HOST="true", **PRODUCTION_ENV
    )

    assert default.stdout.strip() == "[true, true, true, 31536000, null, false]", default.stderr
    assert behind_proxy.stdout.strip() == (
        '[true, true, true, 31536000, ["HTTP_X_FORWARDED_PROTO", "https"], true]'
    ), behind_proxy.stderr


# --- SQLite -----------------------------------------------------------------------------------


@on_sqlite
@pytest.mark.django_db
def test_sqlite_connection_uses_wal():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1


@on_sqlite
@pytest.mark.django_db(transaction=True)
def test_sqlite_transactions_take_the_write_lock_at_begin():
    """IMMEDIATE: a second writer waits at BEGIN instead of failing half-way through."""
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
    try:
        # Inside atomic() with no write yet, the write lock is already held.
        with transaction.atomic(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again after commit
        other.rollback()
    finally:
        other.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
@pytest.mark.django_db
def test_postgresql_keeps_connections_and_checks_them():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


# --- scheduled jobs ---------------------------------------------------------------------------


def _schedules() -> list[tuple]:
    return sorted(
        Schedule.objects.values_list("name", "func", "schedule_type", "repeats", "next_run")
    )


@pytest.mark.django_db
def test_setup_schedules_twice_equals_once():
    call_command("setup_schedules", stdout=io.StringIO())
    once = _schedules()

    out = io.StringIO()
    call_command("setup_schedules", stdout=out)

    assert _schedules() == once
    assert len(once) == len(SCHEDULES) + len(REPEATING)
    assert f"0 created, 0 updated, {len(SCHEDULES) + len(REPEATING)} unchanged" in out.getvalue()


@pytest.mark.django_db
def test_setup_schedules_repairs_a_changed_schedule():
    call_command("setup_schedules", stdout=io.StringIO())
    job = SCHEDULES[0]
    Schedule.objects.filter(name=job.name).update(func="old.module.func", repeats=3)

    call_command("setup_schedules", stdout=io.StringIO())

    schedule = Schedule.objects.get(name=job.name)
    assert (schedule.func, schedule.repeats) == (job.func, -1)
    assert Schedule.objects.filter(name=job.name).count() == 1


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2026, 11, 24, 0, 30, tzinfo=BANGKOK), tick=False)
def test_schedules_run_at_bangkok_time():
    """At 00:30 Bangkok (17:30 UTC the day before) a job at 03:30 runs later the same Bangkok
    day, and a job at 00:05 tomorrow: the day is Bangkok's, not UTC's."""
    call_command("setup_schedules", stdout=io.StringIO())

    for job in SCHEDULES:
        next_run = Schedule.objects.get(name=job.name).next_run.astimezone(BANGKOK)
        day = dt.date(2026, 11, 24) if job.at > dt.time(0, 30) else dt.date(2026, 11, 25)
        assert (next_run.date(), next_run.time()) == (day, job.at), job.name


@time_machine.travel(dt.datetime(2026, 11, 24, 4, 0, tzinfo=BANGKOK), tick=False)
def test_next_local_run_is_tomorrow_once_the_time_has_passed():
    assert next_local_run(dt.time(3, 30)) == dt.datetime(2026, 11, 25, 3, 30, tzinfo=BANGKOK)
    assert next_local_run(dt.time(4, 0)) == dt.datetime(2026, 11, 25, 4, 0, tzinfo=BANGKOK)
    assert next_local_run(dt.time(4, 1)) == dt.datetime(2026, 11, 24, 4, 1, tzinfo=BANGKOK)


def test_task_queue_retry_exceeds_timeout():
    """Otherwise django-q2 hands a slow task to a second worker while the first still runs."""
    assert django_settings.Q_CLUSTER["retry"] > django_settings.Q_CLUSTER["timeout"]


def test_every_scheduled_function_exists():
    from django.utils.module_loading import import_string

    for job in [*SCHEDULES, *REPEATING]:
        assert callable(import_string(job.func)), job.func


# --- demo data --------------------------------------------------------------------------------


def _demo_counts() -> dict[str, int]:
    from loyalty.outbox.models import OutboxMessage
    from members.line.models import LineFriend
    from members.models import LedgerEntry, Member, Purchase
    from rewards.models import Reward, RewardCode
    from shops.models import Branch, ContactChannel, PolicyDocument, Shop, Tag, Tier, User

    models = (Shop, Branch, Tier, Tag, ContactChannel, PolicyDocument, User, Member)
    models += (LedgerEntry, Purchase, Reward, RewardCode)
    models += (LineFriend, OutboxMessage)
    return {model.__name__: model.objects.count() for model in models} | {
        "member tags": Member.tags.through.objects.count()
    }


@pytest.mark.django_db
def test_seed_demo_twice_equals_once():
    from loyalty.management.commands.seed_demo import DEMO_MEMBERS, DEMO_PASSWORD
    from members.models import Member
    from shops.models import Shop, User

    # given the demo seeded once
    first_out = io.StringIO()
    call_command("seed_demo", stdout=first_out)
    once = _demo_counts()

    # when it runs again
    second_out = io.StringIO()
    call_command("seed_demo", stdout=second_out)

    # then nothing changed, and the same logins are printed
    assert _demo_counts() == once
    assert second_out.getvalue() == first_out.getvalue()
    assert DEMO_PASSWORD in first_out.getvalue()

    shop = Shop.objects.get(slug="cafe-aroi")
    assert once["Shop"] == 1
    assert Member.objects.filter(shop=shop).count() == DEMO_MEMBERS
    assert once["Branch"] >= 2 and 2 <= once["Tier"] <= 5 and 2 <= once["Tag"] <= 10
    # members have points from real purchases, in more than one tier, and rewards of every kind
    assert once["Purchase"] > 100 and once["LedgerEntry"] >= once["Purchase"]
    assert Member.objects.filter(shop=shop).values("tier").distinct().count() >= 2
    assert set(shop.rewards.values_list("kind", flat=True)) == {
        "auto_code",
        "delivery",
        "custom_code",
    }

    # the printed logins work and carry the roles they claim
    for username, role in [("owner", User.Role.OWNER), ("manager", User.Role.MANAGER)]:
        user = authenticate(username=username, password=DEMO_PASSWORD)
        assert user is not None and user.role == role and user.is_staff and user.shop == shop
    cashier = User.objects.get(username="cashier")
    assert not cashier.is_staff and cashier.branches.count() == 1
    assert User.objects.get(username="admin").is_superuser

    # the seeded members hold real, normalised phone numbers
    phones = list(Member.objects.filter(shop=shop).values_list("phone", flat=True))
    assert len(set(phones)) == len(phones)
    bad = [p for p in phones if p and normalise_phone(p) != p]
    assert bad == []
