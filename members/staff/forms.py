"""Shapes of the staff app's forms. Business rules (points, branches, invites) are checked by the
services; these check types, lengths and required fields, and turn Thai digits into ASCII."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from loyalty.errors import ApplicationError
from loyalty.numbers import THAI_DIGITS
from loyalty.phones import InvalidPhone, normalise_phone
from loyalty.text import TypedTextForm
from members.ledger.services import clean_amount
from members.qr import clean_member_code
from members.staff.selectors import can_use_staff_app
from shops.models import User


class SignInForm(TypedTextForm, AuthenticationForm):
    """Django's sign-in form (it calls ``authenticate`` with the request, so django-axes counts
    failures), for staff of an active shop only."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": _("This account cannot use the staff app. Managers sign in at /admin/."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.update(
            {"autocapitalize": "none", "autocorrect": "off", "autocomplete": "username"}
        )
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not can_use_staff_app(user):
            raise ValidationError(self.error_messages["not_staff"], code="not_staff")


class JoinForm(TypedTextForm, forms.Form):
    name = forms.CharField(
        label=_("Your name"),
        max_length=150,
        # Translators: Thai: ชื่อของคุณ
        help_text=_("Shown to your manager, e.g. Nok."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("For signing in. Letters, digits and @ . + - _ only."),
        widget=forms.TextInput(
            attrs={"autocapitalize": "none", "autocorrect": "off", "autocomplete": "username"}
        ),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_("At least 8 characters, not only digits."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords are not the same."))
        elif p1:
            probe = User(username=data.get("username", ""), first_name=data.get("name", ""))
            try:
                password_validation.validate_password(p1, probe)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


def _ascii_digits(value: str) -> str:
    return (value or "").translate(THAI_DIGITS).strip()


class FindForm(TypedTextForm, forms.Form):
    """Find a member by phone (any form people type) or by the code of their member QR."""

    phone = forms.CharField(label=_("Member's phone"), max_length=40, required=False)
    code = forms.CharField(label=_("Member code"), max_length=40, required=False)

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "")
        if not raw.strip():
            return ""
        try:
            return normalise_phone(raw)
        except InvalidPhone as exc:
            raise ValidationError(exc.messages[0]) from None

    def clean_code(self) -> str:
        raw = self.cleaned_data.get("code", "")
        if not raw.strip():
            return ""
        try:
            return clean_member_code(raw)
        except ApplicationError as exc:
            raise ValidationError(str(exc)) from None

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("phone") and not data.get("code"):
            raise ValidationError(_("Type the member's phone number or scan their QR code."))
        return data


class AmountField(forms.CharField):
    """A spend in baht: Thai or ASCII digits, an optional comma for thousands, ≤ 2 decimals, more
    than 0 and below 10 million (``members.ledger.services.clean_amount``)."""

    def __init__(self, **kwargs):
        # Translators: Thai: ยอดซื้อ (บาท)
        kwargs.setdefault("label", _("Spend (THB)"))
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "inputmode": "decimal",
                    "autocomplete": "off",
                    "enterkeyhint": "next",
                    "class": "amount-input",
                }
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return clean_amount(_ascii_digits(value))
        except ApplicationError as exc:
            raise ValidationError(str(exc)) from None


def receipt_field() -> forms.CharField:
    return forms.CharField(
        # Translators: Thai: เลขที่ใบเสร็จ (ถ้ามี)
        label=_("Receipt number (optional)"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "enterkeyhint": "done"}),
    )


class SpendForm(TypedTextForm, forms.Form):
    """The spend for a member (``member``) or a new phone (``phone``). ``key`` is the UUID rendered
    into the form: the idempotency key of the one entry it may create."""

    member = forms.UUIDField(required=False, widget=forms.HiddenInput)
    phone = forms.CharField(required=False, max_length=16, widget=forms.HiddenInput)
    amount = AmountField()
    receipt_no = receipt_field()
    key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("key", uuid.uuid4())
        super().__init__(*args, **kwargs)

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "")
        if not raw:
            return ""
        try:
            return normalise_phone(raw)
        except InvalidPhone as exc:
            raise ValidationError(exc.messages[0]) from None

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("member") and not data.get("phone"):
            raise ValidationError(_("Find the member first."))
        return data


class ClaimForm(TypedTextForm, forms.Form):
    amount = AmountField()
    receipt_no = receipt_field()
    key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("key", uuid.uuid4())
        super().__init__(*args, **kwargs)


class ApprovalForm(TypedTextForm, forms.Form):
    """A manager approves on the cashier's phone with their username and their password or
    approval PIN. ``authenticate`` is called with the request, so django-axes counts failures per
    username and device as at sign-in; ``approver`` is the person on success. Whether they may
    approve is the service's rule (``approvals.staff_approval_grant``)."""

    username = forms.CharField(
        # Translators: Thai: ชื่อผู้ใช้ของผู้จัดการ
        label=_("Manager's username"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocapitalize": "none", "autocorrect": "off", "autocomplete": "off"}
        ),
    )
    secret = forms.CharField(
        # Translators: Thai: รหัสผ่านหรือ PIN ของผู้จัดการ
        label=_("Password or approval PIN"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.approver: User | None = None
        self.locked_out = False

    def clean(self):
        data = super().clean()
        username, secret = data.get("username"), data.get("secret")
        if self.errors or not username or not secret:
            return data
        user = authenticate(self.request, username=username, password=secret, manager_approval=True)
        if user is None:
            if getattr(self.request, "axes_locked_out", False):
                # Answer with the staff page, not axes' own plain lock-out page.
                self.request.axes_locked_out = False
                self.locked_out = True
                raise ValidationError(
                    _(
                        "Too many wrong passwords or PINs for this username. Wait a while or "
                        "ask another manager."
                    ),
                    code="locked_out",
                )
            raise ValidationError(
                _("Wrong username, password or PIN. Nothing was approved."), code="wrong_secret"
            )
        self.approver = user
        return data


class VoidForm(TypedTextForm, forms.Form):
    reason = forms.CharField(
        # Translators: Thai: เหตุผลที่ยกเลิก
        label=_("Why is it voided?"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("E.g. wrong amount, refund, wrong member."),
    )


class PhoneConfirmForm(TypedTextForm, forms.Form):
    checked = forms.BooleanField(
        label=_(
            "I checked that this phone number is the customer's: I called it and their phone "
            "rang, or I saw the number on their phone or their ID card."
        ),
        error_messages={"required": _("Tick the box once you have checked the phone number.")},
    )
