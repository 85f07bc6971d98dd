"""Schemathesis, run from outside against the live test server's /api/v1/openapi.json with every
check on: generated requests (valid and invalid bodies, parameters, methods the schema does not
list, missing auth) must get no server error and only answers the schema documents, in the JSON
envelope."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from shops.apikeys import api_key_create
from tests.factories import BranchFactory, MemberFactory, RewardFactory, ShopFactory, TierFactory
from tests.rewards.conftest import give

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
# Bounded so the run stays well under a minute on two cores.
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10")


def test_the_open_api_passes_schemathesis_with_every_check(live_server, tmp_path):
    # given a shop with a branch, tiers, a member with points and a reward, and an API key
    shop = ShopFactory(thb_per_point=Decimal("25.00"), expiry_mode="never", tiers_enabled=True)
    BranchFactory(shop=shop, code="BKK01")
    TierFactory(shop=shop, name="Silver", threshold=0)
    give(MemberFactory(shop=shop, phone="+66812345678", customer_id="C1"), 500)
    RewardFactory(shop=shop, points_cost=10)
    _key, raw = api_key_create(shop=shop, name="schemathesis")

    # when Schemathesis runs every phase and every check against the live server
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [
            sys.executable,
            "-c",
            "from schemathesis.cli import schemathesis; schemathesis()",
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{live_server.url}/api/v1/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=tmp_path,  # Schemathesis keeps a cache folder in its working directory
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "SCHEMATHESIS_HOOKS": "tests.api_fuzz.hooks",
            "LOYALTY_API_KEY": raw,
            "NO_COLOR": "1",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # then it finds nothing
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "No issues found" in result.stdout or "passed" in result.stdout, result.stdout
