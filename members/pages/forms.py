"""Forms of the member pages. They check shape (types, required fields, lengths); the rules
(phone of another member, impossible birthdays, choices of the question) live in
``members.signup.services``, whose refusals the views put back on these forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty.text import TypedTextForm
from members.models import Gender
from members.signup.models import SignupQuestion
from members.signup.services import answer_field
from shops.models import Branch, PolicyDocument, Shop

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class BranchChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Branch) -> str:
        return obj.name  # members know the branch by its name, not the staff's code


def _branch_field(shop: Shop, *, required: bool) -> forms.ModelChoiceField:
    return BranchChoiceField(
        label=_("Your usual branch"),
        queryset=Branch.objects.filter(shop=shop, is_active=True).order_by("name"),
        required=required,
        empty_label=_("Choose a branch"),
    )


class MemberDetailsForm(TypedTextForm, forms.Form):
    """The base questions, asked at sign-up and edited on the profile page."""

    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=30,
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel-national",
                "placeholder": "08x-xxx-xxxx",
            }
        ),
    )
    birthday = forms.DateField(
        label=_("Birthday"),
        input_formats=DATE_INPUT_FORMATS,
        widget=DateInput(attrs={"autocomplete": "bday"}),
        help_text=_("Year in the Common Era (ค.ศ.), e.g. 1992 rather than 2535."),
        error_messages={"invalid": _("Enter a date, e.g. 1992-03-15.")},
    )

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop
        has_branches = Branch.objects.filter(shop=shop, is_active=True).exists()
        if has_branches:
            self.fields["branch"] = _branch_field(shop, required=True)


class SignupForm(MemberDetailsForm):
    accept_terms = forms.BooleanField(
        label=_("I accept the terms of service and the privacy policy"),
        required=False,
    )
    # Separate, optional and never ticked in advance (PDPA).
    marketing = forms.BooleanField(
        label=_("Send me news, offers and coupons from the shop on LINE"),
        required=False,
        initial=False,
    )

    def __init__(self, *args, shop: Shop, questions: list[SignupQuestion], **kwargs):
        super().__init__(*args, shop=shop, **kwargs)
        self.questions = questions
        for question in questions:
            self.fields[answer_field(question)] = question_field(question)
        self.fields["marketing"].initial = False
        from shops.services import current_document

        self.terms = current_document(shop=shop, kind=PolicyDocument.Kind.TERMS)
        self.privacy = current_document(shop=shop, kind=PolicyDocument.Kind.PRIVACY)
        if not (self.terms or self.privacy):
            del self.fields["accept_terms"]

    def clean_accept_terms(self):
        if not self.cleaned_data.get("accept_terms"):
            raise forms.ValidationError(
                _("Please accept the terms and the privacy policy to become a member.")
            )
        return True

    def answers(self) -> dict[int, object]:
        """The cleaned answers keyed by question id, as ``member_register`` takes them."""
        return {q.pk: self.cleaned_data.get(answer_field(q)) for q in self.questions}

    def question_fields(self):
        return [self[answer_field(q)] for q in self.questions]


def question_field(question: SignupQuestion) -> forms.Field:
    """The form field that asks one of the shop's own questions."""
    common = {"label": question.label, "required": question.required}
    if question.help_text:
        common["help_text"] = question.help_text
    kind = SignupQuestion.Kind
    if question.kind in SignupQuestion.CHOICE_KINDS:
        choices = [(c.pk, c.label) for c in question.choices.all()]
        if question.kind == kind.SINGLE:
            return forms.TypedChoiceField(
                choices=choices, coerce=int, widget=forms.RadioSelect, empty_value=None, **common
            )
        return forms.TypedMultipleChoiceField(
            choices=choices, coerce=int, widget=forms.CheckboxSelectMultiple, **common
        )
    if question.kind == kind.DATE:
        return forms.DateField(input_formats=DATE_INPUT_FORMATS, widget=DateInput(), **common)
    if question.kind == kind.NUMBER:
        return forms.DecimalField(
            max_digits=14,
            decimal_places=2,
            widget=forms.NumberInput(attrs={"inputmode": "decimal"}),
            **common,
        )
    return forms.CharField(max_length=1000, **common)


class ProfileForm(MemberDetailsForm):
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    gender = forms.ChoiceField(
        label=_("Gender"),
        choices=[("", _("Prefer not to say")), *Gender.choices],
        required=False,
    )

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, shop=shop, **kwargs)
        if "branch" in self.fields:
            self.fields["branch"].required = False


class MarketingForm(TypedTextForm, forms.Form):
    marketing = forms.BooleanField(required=False)


class NoticesForm(TypedTextForm, forms.Form):
    notices = forms.BooleanField(required=False)


class DeleteAccountForm(TypedTextForm, forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that my points, coupons and history will be lost"),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class PhoneCodeForm(TypedTextForm, forms.Form):
    code = forms.CharField(
        # Translators: Thai: รหัส OTP 6 หลัก
        label=_("6-digit code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9๐-๙ ]*",
                "placeholder": "123456",
            }
        ),
    )


class LinkPhoneForm(TypedTextForm, forms.Form):
    """The account-link page's first step: the phone of the membership to link."""

    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=30,
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel-national",
                "placeholder": "08x-xxx-xxxx",
            }
        ),
    )
