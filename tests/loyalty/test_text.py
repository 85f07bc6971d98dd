"""The rule for characters typed text may not contain (``loyalty.text``), and its wiring: every
form of the project and every form and inline of the back office carries it."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django import forms
from django.contrib import admin
from django.test import RequestFactory
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from loyalty import text
from loyalty.errors import InvalidInput
from shops.models import User
from tests.factories import UserFactory

CONTROLS = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]
C1_AND_DEL = [chr(c) for c in range(0x7F, 0xA0)]
NONCHARACTERS = [
    *(chr(c) for c in range(0xFDD0, 0xFDF0)),
    *(chr((plane << 16) | end) for plane in range(17) for end in (0xFFFE, 0xFFFF)),
]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
ALLOWED = [
    "สมชาย ใจดี",
    "ณ อยุธยา",
    "กาแฟ\u200bเย็น",  # a zero-width space as a Thai word-break hint
    "👨\u200d👩\u200d👧",  # an emoji sequence joined by U+200D
    "\u00a0nbsp",
    "ﬁ ﬀ",
    "\ufffd",
    "\U0001f600",
    "\U0010fffd",
    "Ω≈ç√",
]


@pytest.mark.parametrize("char", CONTROLS + C1_AND_DEL, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_are_refused_everywhere(char):
    for multiline in (False, True):
        found = text.find_refused(f"ab{char}c", multiline=multiline)
        assert found is not None and found.kind == "control"
        assert (found.char, found.position, found.code) == (char, 3, f"U+{ord(char):04X}")


@pytest.mark.parametrize("char", NONCHARACTERS + SURROGATES, ids=lambda c: f"U+{ord(c):04X}")
def test_noncharacters_and_surrogates_are_refused_everywhere(char):
    for multiline in (False, True):
        found = text.find_refused(f"a{char}", multiline=multiline)
        assert found is not None and found.kind == "noncharacter", repr(char)
        assert found.position == 2


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_tab_and_line_breaks_only_in_multi_line_text(char):
    assert text.find_refused(f"line{char}line", multiline=True) is None
    found = text.find_refused(f"line{char}line")
    assert found.kind == ("tab" if char == "\t" else "line_break")


@pytest.mark.parametrize("value", ALLOWED)
def test_ordinary_text_and_zero_width_characters_are_allowed(value):
    assert text.find_refused(value) is None
    assert text.check_text(value) == value


@given(st.text())
def test_what_xml_refuses_is_always_refused_too(value):
    # XML 1.0 is the floor: nothing a file cannot hold gets past the input rule.
    if text.XML_REFUSED.search(value.replace("\t", "").replace("\n", "").replace("\r", "")):
        assert text.find_refused(value, multiline=True) is not None
    if text.find_refused(value, multiline=True) is None:
        assert text.xml_safe(value) == value


def test_the_message_names_the_field_the_character_and_where_it_is():
    with translation.override("en"):
        found = text.find_refused("Som\x07chai")
        assert found.message("First name") == (
            "“First name” contains an invisible control character (U+0007) at position 4; "
            "remove it."
        )
        assert text.find_refused("a\uffff").message() == (
            "The text contains a code that is not a character (U+FFFF) at position 2; remove it."
        )
    with translation.override("th"):
        message = text.find_refused("Som\x07chai").message("ชื่อ")
        assert "U+0007" in message and "ชื่อ" in message and "contains" not in message


def test_check_text_raises_an_invalid_input_with_the_field():
    with pytest.raises(InvalidInput) as refused:
        text.check_text("a\x1fb", field="note", where="note")
    assert refused.value.code == "refused_character"
    assert refused.value.field == "note"
    assert "U+001F" in str(refused.value)


def test_text_from_elsewhere_is_cleaned_not_refused():
    assert text.strip_refused("\u200bNok\x07\uffff \n 🌸\t") == "Nok 🌸"
    assert text.strip_refused("a\nb\x0bc", multiline=True) == "a\nbc"


def test_xml_safe_leaves_out_only_what_xml_cannot_hold():
    assert text.xml_safe("a\x00\x08\x0b\x0c\x1f\ud800\ufffe\uffffb") == "ab"
    assert text.xml_safe("a\tb\nc\rd\x85\x7f") == "a\tb\nc\rd\x85\x7f"


def test_zero_width_characters_are_trimmed_at_the_ends_only():
    assert text.trim_ends("\ufeff\u200b สมชาย\u200bใจดี \u200d\n") == "สมชาย\u200bใจดี"


# --- forms ----------------------------------------------------------------------------------------


class _Form(text.TypedTextForm, forms.Form):
    name = forms.CharField(label="Name", max_length=20)
    address = forms.CharField(widget=forms.Textarea, required=False)
    password = forms.CharField(widget=forms.PasswordInput, required=False, strip=False)
    code = forms.UUIDField(required=False)


def test_a_typed_text_form_refuses_with_the_label_and_keeps_multi_line_text():
    with translation.override("en"):
        form = _Form({"name": "Nok\x07", "address": "1 Road\r\nBangkok\x1b"})
        assert not form.is_valid()
        assert form.errors["name"] == [
            "“Name” contains an invisible control character (U+0007) at position 4; remove it."
        ]
        assert "U+001B" in form.errors["address"][0]
        assert "Address" in form.errors["address"][0]

        form = _Form({"name": "Nok", "address": "1 Road\r\nBangkok", "password": "p\x07"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["address"] == "1 Road\r\nBangkok"
        assert form.cleaned_data["password"] == "p\x07"  # a secret is never shown or exported


def test_a_typed_text_form_trims_zero_width_characters_at_the_ends():
    form = _Form({"name": "\u200bNok\u200b", "address": "\ufeff"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "Nok"
    assert form.cleaned_data["address"] == ""
    # trimmed before "required" is checked: an invisible name is no name
    form = _Form({"name": "\u200b"})
    assert not form.is_valid() and "name" in form.errors


# --- the Open API types ---------------------------------------------------------------------------


class _Schema(BaseModel):
    name: text.SingleLineText = ""
    note: text.MultilineText = ""


def test_api_types_refuse_with_the_message_and_trim_the_ends():
    with translation.override("en"):
        with pytest.raises(ValidationError) as refused:
            _Schema(name="a\x07")
        error = refused.value.errors()[0]
        assert error["type"] == "refused_character"
        assert error["msg"] == (
            "The text contains an invisible control character (U+0007) at position 2; remove it."
        )
        with pytest.raises(ValidationError):
            _Schema(name="a\nb")
    assert _Schema(name=" \u200bNok ", note="a\nb").model_dump() == {"name": "Nok", "note": "a\nb"}


# --- the wiring -----------------------------------------------------------------------------------

PROJECT_APPS = ("loyalty", "shops", "members", "rewards", "campaigns")


def _import_everything() -> None:
    for name in PROJECT_APPS:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations" in module.name or ".management" in module.name:
                continue
            importlib.import_module(module.name)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_form_of_the_project_refuses_what_typed_text_may_not_contain():
    _import_everything()
    ours = {
        form
        for form in _subclasses(forms.BaseForm)
        if form.__module__.split(".")[0] in PROJECT_APPS
    }
    assert len(ours) > 20
    missing = sorted(
        f"{f.__module__}.{f.__qualname__}" for f in ours if not issubclass(f, text.TypedTextForm)
    )
    assert not missing, f"forms without loyalty.text.TypedTextForm: {missing}"


def _unguarded(form, where: str) -> list[str]:
    return [
        f"{where}.{name}"
        for name, field in form.fields.items()
        if isinstance(field, forms.CharField)
        and not isinstance(field.widget, forms.PasswordInput)
        and not text.has_text_guard(field)
    ]


@pytest.mark.django_db
def test_every_admin_form_and_inline_refuses_what_typed_text_may_not_contain(shop):
    owner = UserFactory(username="owner", shop=shop, role=User.Role.OWNER)
    request = RequestFactory().get("/admin/")
    request.user = owner
    missing, text_fields = [], 0
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        form = model_admin.get_form(request, None)()
        missing += _unguarded(form, model.__name__)
        text_fields += sum(isinstance(f, forms.CharField) for f in form.fields.values())
        for inline in model_admin.get_inline_instances(request, None):
            formset = inline.get_formset(request, None)()
            for inline_form in formset.forms[:1] or [formset.empty_form]:
                missing += _unguarded(inline_form, f"{model.__name__}/{inline.model.__name__}")
    assert text_fields > 30
    assert not missing, f"admin text fields without the rule: {missing}"
