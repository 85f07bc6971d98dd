"""Shapes of the cashier's reward forms: the code typed or scanned (a coupon's 8 characters or a
member's 6-digit spot code) and the hidden key of each confirmation. Whether a code can be used is
decided by ``rewards.services``."""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from loyalty.numbers import THAI_DIGITS
from loyalty.text import TypedTextForm
from rewards.rules import normalise_code

SPOT_CODE_DIGITS = 6


def code_kind(code: str) -> str:
    """``"spot"`` for a member's 6-digit spot code, else ``"coupon"`` (coupon codes are 8 letters
    and digits, so the two never look alike)."""
    return "spot" if len(code) == SPOT_CODE_DIGITS and code.isdigit() else "coupon"


class CounterCodeForm(TypedTextForm, forms.Form):
    """A coupon code or a spot code, as typed (any case, spaces, dashes, Thai digits) or scanned."""

    code = forms.CharField(
        # Translators: Thai: รหัสคูปอง หรือรหัส 6 หลักของสมาชิก
        label=_("Coupon code or the member's 6-digit code"),
        max_length=60,
        error_messages={"required": _("Scan the coupon or type its code.")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "autocorrect": "off",
                "spellcheck": "false",
                "enterkeyhint": "go",
                "class": "big-input code-input",
                "placeholder": "ABCD EFGH",
            }
        ),
    )

    def clean_code(self) -> str:
        code = normalise_code((self.cleaned_data.get("code") or "").translate(THAI_DIGITS))
        if not code.isascii() or not code:
            raise ValidationError(
                _("A coupon code has only letters and digits, e.g. ACDE 3469."), code="invalid"
            )
        return code


class KeyedForm(TypedTextForm, forms.Form):
    """A confirmation: ``key`` is the UUID rendered into the form, so it acts at most once."""

    key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("key", uuid.uuid4())
        super().__init__(*args, **kwargs)


class CounterConfirmForm(KeyedForm):
    """Use this coupon / confirm this spot code."""

    code = forms.CharField(max_length=60, widget=forms.HiddenInput)

    def clean_code(self) -> str:
        return normalise_code((self.cleaned_data.get("code") or "").translate(THAI_DIGITS))
