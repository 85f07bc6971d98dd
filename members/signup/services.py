"""A member's own account: register from the member pages, edit the profile, give or withdraw
marketing consent, and erase the account.

Every function here validates everything before it writes anything, inside one transaction, so a
refusal changes nothing. Lock order: Shop → Member (``members.ledger.locks``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import django.dispatch
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.dates import BE_OFFSET
from loyalty.errors import InvalidInput
from loyalty.text import check_text, strip_refused
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.errors import InvalidBranch
from members.ledger.locks import lock_member, lock_shop
from members.line.binding import member_bind
from members.line.models import BindingRecord
from members.models import Member
from members.notifications.services import NoticeKind, notify
from members.phone_claims.models import PhoneClaim
from members.phone_claims.services import pending_for_phone, phone_claim_open
from members.selectors import member_by_phone
from members.signup.errors import (
    AccountNotActive,
    AlreadyRegistered,
    ConsentRequired,
    InvalidAnswer,
    InvalidBirthday,
    PhoneTaken,
)
from members.signup.models import ConsentRecord, SignupAnswer, SignupQuestion
from shops.models import Branch, PolicyDocument, Shop
from shops.services import current_document

# Sent after a member's account is erased, inside the erasing transaction, with ``member``: each
# model's personal data of that member is erased by its receiver. Receivers are connected through
# ``members.personal_data.register_eraser`` (the registry a test checks), not directly.
member_erased = django.dispatch.Signal()

OLDEST_BIRTH_YEAR = 1900
MAX_TEXT_ANSWER = 1000
MAX_NUMBER_ANSWER = Decimal("999999999999")


@dataclass(frozen=True)
class Registration:
    member: Member
    took_over: bool
    welcome_points: int
    # The phone typed is a pending member's: the account was made without it, and the points
    # wait for proof (``members.phone_claims``).
    claim: PhoneClaim | None = None


# --- input rules ----------------------------------------------------------------------------------


def clean_birthday(birthday: dt.date | None, *, today: dt.date | None = None) -> dt.date | None:
    """A birthday that can be true, or a clear ``InvalidBirthday``.

    Refused: a date after today; a year after this year, which is how a Buddhist Era year typed
    into a Common Era date looks (2535 for 1992), with the Common Era year offered as a hint; a
    year before 1900.
    """
    if birthday is None:
        return None
    today = today or timezone.localdate()
    if birthday.year > today.year:
        ce_year = birthday.year - BE_OFFSET
        if OLDEST_BIRTH_YEAR <= ce_year <= today.year:
            raise InvalidBirthday(
                _(
                    "%(year)s looks like a Buddhist Era year (พ.ศ.). Enter the year in the Common "
                    "Era (ค.ศ.): %(year)s − 543 = %(ce_year)s."
                )
                % {"year": birthday.year, "ce_year": ce_year},
                field="birthday",
            )
        raise InvalidBirthday(_("A birthday cannot be in the future."), field="birthday")
    if birthday > today:
        raise InvalidBirthday(_("A birthday cannot be in the future."), field="birthday")
    if birthday.year < OLDEST_BIRTH_YEAR:
        raise InvalidBirthday(_("Check the year of your birthday."), field="birthday")
    return birthday


def clean_name(value: str, *, field: str, label: str) -> str:
    # Refused before the white space is tidied: split() would turn U+001C–U+001F into spaces.
    check_text(value or "", field=field, where=label)
    value = " ".join((value or "").split())
    if not value:
        raise InvalidInput(_("Enter your %(label)s.") % {"label": label}, field=field)
    return value[:100]


def _check_branch(shop: Shop, branch: Branch | None) -> None:
    if branch is not None and (branch.shop_id != shop.pk or not branch.is_active):
        raise InvalidBranch(_("Choose one of the shop's branches."), field="branch")


def answer_field(question: SignupQuestion) -> str:
    """The form field name of a question's answer."""
    return f"q_{question.pk}"


@dataclass(frozen=True)
class CleanAnswer:
    question: SignupQuestion
    text: str = ""
    date_value: dt.date | None = None
    number_value: Decimal | None = None
    choice_ids: tuple[int, ...] = ()


def clean_answers(
    questions: list[SignupQuestion], answers: Mapping[int, object]
) -> list[CleanAnswer]:
    """Check the answers to the shop's active questions (keyed by question id): every required
    question answered, choices among the question's own, dates and numbers that parse. Answers to
    questions that are not asked are ignored."""
    cleaned = []
    for question in questions:
        raw = answers.get(question.pk)
        field = answer_field(question)
        empty = raw is None or raw == "" or raw == [] or raw == ()
        if empty:
            if question.required:
                raise InvalidAnswer(
                    _("Please answer “%(question)s”.") % {"question": question.label}, field=field
                )
            continue
        kind = question.kind
        if kind in SignupQuestion.CHOICE_KINDS:
            ids = raw if isinstance(raw, list | tuple | set) else [raw]
            try:
                ids = tuple(dict.fromkeys(int(i) for i in ids))
            except (TypeError, ValueError):
                raise InvalidAnswer(_("Choose from the list."), field=field) from None
            allowed = {c.pk for c in question.choices.all()}
            if not ids or not set(ids) <= allowed:
                raise InvalidAnswer(_("Choose from the list."), field=field)
            if kind == SignupQuestion.Kind.SINGLE and len(ids) > 1:
                raise InvalidAnswer(_("Choose one answer."), field=field)
            cleaned.append(CleanAnswer(question, choice_ids=ids))
        elif kind == SignupQuestion.Kind.DATE:
            try:
                value = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))
            except ValueError:
                raise InvalidAnswer(_("Enter a date."), field=field) from None
            if not OLDEST_BIRTH_YEAR <= value.year <= 2200:
                raise InvalidAnswer(_("Check the year of this date."), field=field)
            cleaned.append(CleanAnswer(question, date_value=value))
        elif kind == SignupQuestion.Kind.NUMBER:
            try:
                value = Decimal(str(raw).strip().replace(",", ""))
            except (InvalidOperation, ValueError):
                raise InvalidAnswer(_("Enter a number."), field=field) from None
            if not value.is_finite() or abs(value) > MAX_NUMBER_ANSWER:
                raise InvalidAnswer(_("Enter a number."), field=field)
            cleaned.append(CleanAnswer(question, number_value=value.quantize(Decimal("0.01"))))
        else:
            text = str(raw).strip()
            if len(text) > MAX_TEXT_ANSWER:
                raise InvalidAnswer(
                    _("At most %(max)s characters, please.") % {"max": MAX_TEXT_ANSWER},
                    field=field,
                )
            if not text and question.required:
                raise InvalidAnswer(
                    _("Please answer “%(question)s”.") % {"question": question.label}, field=field
                )
            if text:
                cleaned.append(CleanAnswer(question, text=text))
    return cleaned


def active_questions(shop: Shop) -> list[SignupQuestion]:
    """The questions the sign-up page asks, in order, with their choices."""
    return list(
        SignupQuestion.objects.filter(shop=shop, is_active=True)
        .prefetch_related("choices", "choices__tag")
        .order_by("order", "id")
    )


# --- services -------------------------------------------------------------------------------------


def _phone_taken() -> PhoneTaken:
    return PhoneTaken(
        _(
            "This phone number is already registered to another member. If it is yours, please "
            "contact the shop."
        ),
        field="phone",
    )


@transaction.atomic
def member_register(
    *,
    shop: Shop,
    line_user_id: str,
    line_display_name: str = "",
    first_name: str,
    last_name: str,
    phone: str,
    birthday: dt.date | None,
    branch: Branch | None = None,
    answers: Mapping[int, object] | None = None,
    accepted_terms: bool,
    marketing_consent: bool = False,
    method: str = ConsentRecord.Method.SIGNUP,
    today: dt.date | None = None,
) -> Registration:
    """Register the LINE user ``line_user_id`` (as verified by LINE) as a member of ``shop``.

    - Refused: a LINE account that is already a member; a phone of another registered member (or
      a pending one bound to another LINE account); a birthday in the future or a BE year typed as
      CE; a missing required answer or an answer not among the choices; terms or privacy policy
      not accepted while the shop has them; a branch of another shop.
    - A pending member already bound to this LINE account (by the shop's own system) is taken
      over, points and history included: LINE vouches for that binding.
    - The phone of another, unbound *pending* member (points earned at the store with a phone
      alone) proves nothing by being typed: the account is registered at once without that
      phone, the pending member keeps its phone, points and history, and a claim waits for proof
      (a code by SMS, or a cashier at the counter; ``members.phone_claims``). Two accounts may
      claim one phone; the first proof wins.
    - The current versions of the terms and privacy policy are recorded as accepted, and the
      marketing consent as given or not (never assumed).
    - The shop's welcome points are credited once (idempotent per member).
    """
    line_user_id = (line_user_id or "").strip()
    if not line_user_id:
        raise AccountNotActive(_("Sign in with LINE first."))
    first_name = clean_name(first_name, field="first_name", label=_("first name"))
    last_name = clean_name(last_name, field="last_name", label=_("last name"))
    e164 = ledger.clean_phone(phone)
    birthday = clean_birthday(birthday, today=today)
    _check_branch(shop, branch)
    cleaned = clean_answers(active_questions(shop), answers or {})
    terms = current_document(shop=shop, kind=PolicyDocument.Kind.TERMS)
    privacy = current_document(shop=shop, kind=PolicyDocument.Kind.PRIVACY)
    if (terms or privacy) and not accepted_terms:
        raise ConsentRequired(
            _("Please accept the terms and the privacy policy to become a member."),
            field="accept_terms",
        )

    lock_shop(shop.pk)  # lock order Shop → Member; serialises two sign-ups with one phone
    mine = Member.objects.filter(shop=shop, line_user_id=line_user_id).first()
    if mine is not None and mine.status == Member.Status.REGISTERED:
        raise AlreadyRegistered(_("You are already a member. Open your member card."))
    if mine is not None and mine.status != Member.Status.PENDING:
        raise AccountNotActive(_("This account is blocked. Please contact the shop."))
    by_phone = member_by_phone(shop=shop, phone=e164)
    claimed = None
    if by_phone is not None and by_phone != mine:
        if not pending_for_phone(by_phone):
            # A registered member's phone, or a pending record bound to another LINE account.
            raise _phone_taken()
        claimed = by_phone  # typed is not proven: the points stay there until proof
    took_over = mine is not None
    target = lock_member(mine.pk) if took_over else Member(shop=shop, status=Member.Status.PENDING)

    target.first_name, target.last_name = first_name, last_name
    if claimed is None:
        target.phone = e164
    target.birthday = birthday
    # LINE's name for the person is theirs, not typed into our form: cleaned, not refused.
    target.line_display_name = strip_refused(line_display_name or "")[:100]
    target.signup_branch = branch or target.signup_branch
    target.status = Member.Status.REGISTERED
    now = timezone.now()
    target.registered_at = now
    if not took_over:
        ledger.tier_start(target)
    try:
        target.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        if field == "phone":
            raise _phone_taken() from None
        raise InvalidInput(messages[0], field=field if field != "__all__" else None) from None
    target.save()
    # LINE vouched for this user (a verified ID token): bound now, recorded as sign-up.
    target = member_bind(
        member=target, line_user_id=line_user_id, via=BindingRecord.Via.SIGNUP, actor="member"
    ).member

    _save_answers(target, cleaned)
    records = [
        ConsentRecord(
            shop=shop,
            member=target,
            kind=doc.kind,
            document=doc,
            version=doc.version,
            granted=True,
            method=method,
            recorded_at=now,
        )
        for doc in (terms, privacy)
        if doc is not None
    ]
    records.append(
        ConsentRecord(
            shop=shop,
            member=target,
            kind=ConsentRecord.Kind.MARKETING,
            granted=bool(marketing_consent),
            method=method,
            recorded_at=now,
        )
    )
    ConsentRecord.objects.bulk_create(records)
    claim = None
    if claimed is not None:
        claim = phone_claim_open(member=target, pending=claimed, phone=e164)
    entry = ledger.points_welcome(member=target, actor=Actor.member())
    target.refresh_from_db()
    notify(target, NoticeKind.WELCOME, cause_key=str(target.public_id))
    return Registration(target, took_over, entry.points if entry else 0, claim)


def _save_answers(member: Member, cleaned: list[CleanAnswer]) -> None:
    """Store the answers (replacing earlier answers to the same questions) and attach the tags of
    the chosen choices."""
    if not cleaned:
        return
    SignupAnswer.objects.filter(
        member=member, question_id__in=[a.question.pk for a in cleaned]
    ).delete()
    rows = SignupAnswer.objects.bulk_create(
        SignupAnswer(
            shop_id=member.shop_id,
            member=member,
            question=a.question,
            text=a.text,
            date_value=a.date_value,
            number_value=a.number_value,
        )
        for a in cleaned
    )
    through = SignupAnswer.choices.through
    links, tags = [], set()
    for row, answer in zip(rows, cleaned, strict=True):
        choices = {c.pk: c for c in answer.question.choices.all()}
        for choice_id in answer.choice_ids:
            links.append(through(signupanswer_id=row.pk, signupchoice_id=choice_id))
            if choices[choice_id].tag_id:
                tags.add(choices[choice_id].tag_id)
    through.objects.bulk_create(links)
    if tags:
        member.tags.add(*tags)


def _require_registered(member: Member) -> None:
    if member.status != Member.Status.REGISTERED:
        raise AccountNotActive(_("This account is blocked or deleted."))


@transaction.atomic
def member_profile_update(
    *,
    member: Member,
    first_name: str,
    last_name: str,
    phone: str,
    birthday: dt.date | None,
    email: str = "",
    gender: str = "",
    branch: Branch | None = None,
    today: dt.date | None = None,
) -> Member:
    """A member edits their own details. The same rules as at sign-up: a phone of another
    registered member is refused, as is an impossible birthday; the phone of an unbound pending
    member opens a claim to prove (the member's phone stays as it was until the proof)."""
    first_name = clean_name(first_name, field="first_name", label=_("first name"))
    last_name = clean_name(last_name, field="last_name", label=_("last name"))
    e164 = ledger.clean_phone(phone)
    birthday = clean_birthday(birthday, today=today)
    _check_branch(member.shop, branch)
    lock_shop(member.shop_id)
    member = lock_member(member.pk)
    _require_registered(member)
    other = member_by_phone(shop=member.shop, phone=e164)
    if other is not None and other.pk != member.pk:
        if not pending_for_phone(other):
            raise _phone_taken()
        phone_claim_open(member=member, pending=other, phone=e164)
    else:
        member.phone = e164
    member.first_name, member.last_name = first_name, last_name
    member.birthday = birthday
    member.email = (email or "").strip()
    member.gender = gender or ""
    if branch is not None:
        member.signup_branch = branch
    try:
        member.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(messages[0], field=field if field != "__all__" else None) from None
    member.save()
    return member


def marketing_consent_given(member: Member) -> bool:
    """Whether the member's latest marketing consent record says "given"."""
    latest = (
        ConsentRecord.objects.filter(member=member, kind=ConsentRecord.Kind.MARKETING)
        .order_by("-recorded_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    return bool(latest)


@transaction.atomic
def member_marketing_consent_set(
    *, member: Member, granted: bool, method: str = ConsentRecord.Method.PROFILE
) -> ConsentRecord | None:
    """Give or withdraw marketing consent. A record is written only when the answer changes;
    returns it (or None when nothing changed)."""
    member = lock_member(member.pk)
    _require_registered(member)
    if marketing_consent_given(member) == bool(granted):
        return None
    return ConsentRecord.objects.create(
        shop_id=member.shop_id,
        member=member,
        kind=ConsentRecord.Kind.MARKETING,
        granted=bool(granted),
        method=method,
    )


@transaction.atomic
def member_erase(*, member: Member) -> Member:
    """Delete a member's account at their request (PDPA): the personal fields are erased, the tags
    cleared and the status set to *erased*; then ``member_erased`` lets each model's eraser
    (``members.personal_data``) delete or blank the rest in the same transaction: answers, QR
    codes, names in the staff log, saved addresses, delivery addresses... The ledger, purchases
    and consent records stay, tied to the member id only, so the shop's points totals still add
    up. An erased member can sign up again as a new member. Running it twice changes nothing
    more."""
    member = lock_member(member.pk)
    if member.status == Member.Status.ERASED:
        return member
    member.tags.clear()
    for field in ("phone", "line_user_id", "bound_at", "customer_id", "birthday"):
        setattr(member, field, None)
    for field in ("first_name", "last_name", "gender", "email", "line_display_name", "note"):
        setattr(member, field, "")
    member.status = Member.Status.ERASED
    member.save()
    member_erased.send(sender=Member, member=member)
    return member
