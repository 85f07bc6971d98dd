"""Thai first, English on request, and a Thai catalogue with nothing left untranslated."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

PO_FILE = Path(settings.BASE_DIR) / "locale" / "th" / "LC_MESSAGES" / "django.po"
# Thai for django-unfold's own strings (unfold ships none); LOCALE_PATHS serves it after ours.
VENDOR_PO_FILE = Path(settings.BASE_DIR) / "locale_vendor" / "th" / "LC_MESSAGES" / "django.po"
VENDOR_JS_PO_FILE = VENDOR_PO_FILE.with_name("djangojs.po")
both_catalogues = pytest.mark.parametrize(
    "po_file", [PO_FILE, VENDOR_PO_FILE], ids=["ours", "vendor"]
)
every_catalogue = pytest.mark.parametrize(
    "po_file", [PO_FILE, VENDOR_PO_FILE, VENDOR_JS_PO_FILE], ids=["ours", "vendor", "vendor-js"]
)
needs_catalogue = pytest.mark.skipif(
    not PO_FILE.exists(),
    reason=f"{PO_FILE.relative_to(settings.BASE_DIR)} does not exist yet (`make messages` makes it)",
)


# --- a small .po reader (no polib needed) -----------------------------------------------------


def _unquote(line: str) -> str:
    return re.sub(
        r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), line[1:-1]
    )


def parse_po(text: str) -> list[dict]:
    """Entries of a .po file as dicts: msgid, msgid_plural, msgstr (list), flags, obsolete."""
    entries, entry, field = [], None, None

    def finish():
        if entry is not None and ("msgid" in entry):
            entries.append(entry)

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            finish()
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgstr": {}, "obsolete": False}
        if line.startswith("#~"):
            entry["obsolete"] = True
            line = line[2:].strip()
        if line.startswith("#,"):
            entry["flags"].update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
        if match:
            keyword, index, value = match.groups()
            if keyword.startswith("msgstr"):
                field = ("msgstr", int(index or 0))
                entry["msgstr"][field[1]] = _unquote(value)
            else:
                field = (keyword, None)
                entry[keyword] = _unquote(value)
        elif line.startswith('"') and field is not None:
            if field[0] == "msgstr":
                entry["msgstr"][field[1]] += _unquote(line)
            else:
                entry[field[0]] += _unquote(line)
    finish()
    return entries


def test_po_parser_reads_what_the_catalogue_checks_rely_on():
    """The checks below are only as good as this parser."""
    entries = parse_po(
        '# header\nmsgid ""\nmsgstr ""\n"Language: th\\n"\n\n'
        '#: a.py:1\n#, fuzzy, python-format\nmsgid "Hello %(name)s"\nmsgstr "สวัสดี %(name)s"\n\n'
        'msgid "Empty"\nmsgstr ""\n\n'
        'msgid ""\n"Long "\n"text"\nmsgstr ""\n"ยาว"\n\n'
        'msgid "One"\nmsgid_plural "Many"\nmsgstr[0] "หลาย"\n\n'
        '#~ msgid "Old"\n#~ msgstr ""\n'
    )
    by_id = {e["msgid"]: e for e in entries}

    assert by_id[""]["msgstr"][0] == "Language: th\n"
    assert by_id["Hello %(name)s"]["flags"] >= {"fuzzy", "python-format"}
    assert by_id["Empty"]["msgstr"] == {0: ""}
    assert by_id["Long text"]["msgstr"] == {0: "ยาว"}
    assert by_id["One"]["msgid_plural"] == "Many"
    assert by_id["Old"]["obsolete"] is True


def catalogue(po_file: Path = PO_FILE) -> list[dict]:
    return [
        e for e in parse_po(po_file.read_text(encoding="utf-8")) if e["msgid"] and not e["obsolete"]
    ]


def translation_of(msgid: str) -> str:
    for entry in catalogue():
        if entry["msgid"] == msgid:
            return entry["msgstr"][0]
    pytest.fail(f"{msgid!r} is not in the Thai catalogue")


@needs_catalogue
@every_catalogue
def test_thai_catalogue_has_no_empty_translations(po_file):
    empty = [
        e["msgid"] for e in catalogue(po_file) if not all(v.strip() for v in e["msgstr"].values())
    ]

    assert empty == [], f"{len(empty)} untranslated: {empty[:10]}"


@needs_catalogue
@every_catalogue
def test_thai_catalogue_has_no_fuzzy_entries(po_file):
    fuzzy = [e["msgid"] for e in catalogue(po_file) if "fuzzy" in e["flags"]]

    assert fuzzy == [], f"{len(fuzzy)} fuzzy (unchecked) translations: {fuzzy[:10]}"


@needs_catalogue
@every_catalogue
def test_thai_catalogue_keeps_the_placeholders(po_file):
    """A translation that drops or renames %(limit)s fails at run time, in front of a user.
    (Untranslated entries are the test above's business.)"""
    placeholder = re.compile(r"%\([A-Za-z_]+\)[sdif]|\{[A-Za-z_]+\}")
    broken = []
    for entry in catalogue(po_file):
        if "python-format" not in entry["flags"] and "python-brace-format" not in entry["flags"]:
            continue
        expected = sorted(set(placeholder.findall(entry["msgid"])))
        if entry.get("msgid_plural"):
            expected = sorted(set(expected) | set(placeholder.findall(entry["msgid_plural"])))
        for translated in entry["msgstr"].values():
            # A plural form may leave out the count ("one item"), never add a new name.
            found = sorted(set(placeholder.findall(translated)))
            wrong = (
                found != expected
                if not entry.get("msgid_plural")
                else not set(found) <= set(expected)
            )
            if translated and wrong:
                broken.append(entry["msgid"])

    assert broken == []


@needs_catalogue
@both_catalogues
def test_compiled_catalogue_matches_the_source(po_file):
    """Django serves the .mo, not the .po: every Thai translation must be compiled in."""
    from django.utils import translation

    assert po_file.with_suffix(".mo").exists(), "run `make messages` (compilemessages)"
    stale = []
    with translation.override("th"):
        for entry in catalogue(po_file):
            if entry.get("msgid_plural") or "fuzzy" in entry["flags"] or not entry["msgstr"][0]:
                continue
            if "msgctxt" in entry:
                served = translation.pgettext(entry["msgctxt"], entry["msgid"])
            else:
                served = translation.gettext(entry["msgid"])
            if served != entry["msgstr"][0]:
                stale.append(entry["msgid"])

    assert stale == [], f"{len(stale)} not compiled: {stale[:10]}"


# --- pages ------------------------------------------------------------------------------------


def _switch_to(client, language: str, next_url: str = "/"):
    response = client.post(reverse("set_language"), {"language": language, "next": next_url})
    assert response.status_code == 302
    return response


@pytest.mark.django_db
def test_landing_page_is_thai_by_default(client):
    response = client.get(reverse("landing"))

    content = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="th">' in content
    assert 'value="th" class="lang-btn is-current"' in content


@needs_catalogue
@pytest.mark.django_db
def test_landing_page_text_is_thai_by_default(client):
    content = client.get(reverse("landing")).content.decode()

    assert translation_of("Back office") in content
    assert ">Back office<" not in content


@pytest.mark.django_db
def test_landing_page_is_english_after_the_language_switch(client):
    _switch_to(client, "en")

    content = client.get(reverse("landing")).content.decode()

    assert '<html lang="en">' in content
    assert "Back office" in content
    assert 'value="en" class="lang-btn is-current"' in content


@pytest.mark.django_db
def test_language_switch_goes_back_to_the_page(client):
    response = _switch_to(client, "en", next_url="/admin/login/")

    assert response["Location"] == "/admin/login/"


@pytest.mark.django_db
def test_admin_login_is_thai_by_default(client):
    content = client.get(reverse("admin:login")).content.decode()

    assert "เข้าสู่ระบบ" in content  # "Log in"
    assert "รหัสผ่าน" in content  # "Password"


@pytest.mark.django_db
def test_admin_login_is_english_after_the_language_switch(client):
    _switch_to(client, "en", next_url="/admin/login/")

    content = client.get(reverse("admin:login")).content.decode()

    assert "Log in" in content
    assert "Password" in content
    assert "เข้าสู่ระบบ" not in content


@pytest.mark.django_db
def test_switching_back_to_thai(client):
    _switch_to(client, "en")
    _switch_to(client, "th")

    assert "เข้าสู่ระบบ" in client.get(reverse("admin:login")).content.decode()


def test_both_languages_ship():
    assert [code for code, _name in settings.LANGUAGES] == ["th", "en"]
    assert settings.LANGUAGE_CODE == "th"
    assert settings.TIME_ZONE == "Asia/Bangkok"


@pytest.mark.django_db
def test_the_admin_themes_own_words_are_thai(client):
    from shops.models import User
    from tests.factories import ShopFactory, UserFactory

    owner = UserFactory(username="th-owner", shop=ShopFactory(), role=User.Role.OWNER)
    client.force_login(owner)
    html = client.get(reverse("admin:members_member_changelist")).content.decode()
    assert "ค้นหาเมนู..." in html
    assert "Search apps and models" not in html


# Django's admin message after an add (a variable, so that makemessages does not take it as ours).
ADDED = "The {name} “{obj}” was added successfully."


def test_djangos_own_messages_that_its_thai_lacks_are_thai():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.utils import translation

    with translation.override("th"):
        with pytest.raises(ValidationError) as refused:
            validate_password("1234")
        added = translation.gettext(ADDED)
    assert "รหัสผ่านสั้นเกินไป ต้องมีอย่างน้อย 8 ตัวอักษร" in refused.value.messages
    assert "รหัสผ่านนี้เป็นตัวเลขทั้งหมด" in refused.value.messages
    assert added == "เพิ่ม{name} “{obj}” เรียบร้อยแล้ว"


@pytest.mark.django_db
def test_the_admins_javascript_words_are_thai(client):
    from shops.models import User
    from tests.factories import ShopFactory, UserFactory

    owner = UserFactory(username="js-owner", shop=ShopFactory(), role=User.Role.OWNER)
    client.force_login(owner)
    script = client.get(reverse("admin:jsi18n")).content.decode()
    assert VENDOR_JS_PO_FILE.with_suffix(".mo").exists()
    for thai in ("อาทิตย์", "พฤหัสบดี", "มี.ค.", "คลิกเพื่อล้าง"):
        assert json.dumps(thai)[1:-1] in script  # the catalogue is JSON, Thai as \\u escapes
