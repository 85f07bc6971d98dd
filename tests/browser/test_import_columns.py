"""A shop owner moving in from another system, whose points column has a name the import does not
know (trust issue, defect 3): the preview says so and will not import, the owner chooses what the
column holds in the columns table, the file is checked again, and the points arrive. On a phone
(390 px) and on a laptop (1280 px).

The jobs run at once in the web server's thread (``Q_CLUSTER["sync"]``); test_import.py runs them
in a real django-q2 cluster.
"""

from __future__ import annotations

import pytest

from members.imports.models import ImportJob
from members.models import Member
from shops.models import User
from tests.browser.conftest import _new_page, shot
from tests.browser.test_import import sign_in
from tests.factories import BranchFactory, ShopFactory, UserFactory
from tests.members.imports.conftest import make_xlsx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "laptop": {"viewport": {"width": 1280, "height": 800}},
}


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, live_server):
    context, page = _new_page(
        browser,
        base_url=live_server.url,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
        **VIEWPORTS[request.param],
    )
    yield page
    context.close()


@pytest.fixture
def shop(live_server, settings, tmp_path):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    shop = ShopFactory(name="คาเฟ่อร่อย", slug="cafe-aroi", expiry_mode="never", tiers_enabled=False)
    BranchFactory(shop=shop, name="สาขาสยาม", code="BKK01")
    UserFactory(username="owner", shop=shop, role=User.Role.OWNER)
    return shop


def test_owner_chooses_the_points_column_in_the_preview(page, shop, tmp_path):
    # given: an old system's export, its points under a name the import does not know
    path = make_xlsx(
        tmp_path / "ลูกค้าเดิม.xlsx",
        [
            ["เบอร์โทรศัพท์", "ชื่อ-นามสกุล", "พอยท์ยกมา", "ที่อยู่"],
            ["081-234-5678", "สมชาย ใจดี", 1500, "กรุงเทพฯ"],
            ["089-999-9999", "สมหญิง รักดี", 320, ""],
        ],
    )
    sign_in(page)
    page.goto("/admin/members/importjob/upload/")
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=branch]", label="สาขาสยาม (BKK01)")
    page.check("input[name=mode][value=valid]")
    page.click("[data-testid=upload-submit]")

    # then: the preview names the column, lists the address as not imported, and will not import
    page.wait_for_selector("[data-testid=column-errors]")
    errors = page.inner_text("[data-testid=column-errors]")
    assert "C “พอยท์ยกมา”" in errors and "ดูเหมือนพอยท์" in errors
    assert "D “ที่อยู่”" in page.inner_text("[data-testid=column-warnings]")
    assert page.is_disabled("[data-testid=confirm]")
    assert page.input_value("select[name=column-C]") == ""
    shot(page, "01-column-in-doubt")

    # when: the owner reads column C as the points
    select = page.locator("select[name=column-C]")
    select.scroll_into_view_if_needed()
    assert (
        select.bounding_box()["x"] + select.bounding_box()["width"] <= page.viewport_size["width"]
    )  # the choice is on screen, not cut off at the side
    select.select_option("points")
    shot(page, "02-points-chosen", full_page=False)
    page.click("[data-testid=columns-apply]")

    # then: the file is checked again with the choice, and the points are counted
    page.wait_for_selector("[data-testid=confirm-form]")
    assert page.inner_text("[data-testid=count-points]") == "1,820"
    assert page.locator("[data-testid=column-errors]").count() == 0
    assert page.input_value("select[name=column-C]") == "points"
    assert "คุณเลือกเอง" in page.inner_text("[data-column=C]")
    shot(page, "03-checked-again")

    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=result]")
    shot(page, "04-imported")
    job = ImportJob.objects.get()
    assert (job.state, job.column_mapping, job.points_total) == ("done", {"C": "points"}, 1820)
    assert Member.objects.get(phone="+66812345678").balance == 1500
