"""Sign-up: base questions, the shop's own questions, consents, pending members (a claim to prove,
not a take-over), welcome points, and bad input that gets a clear message and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.models import LedgerEntry, Member
from members.phone_claims.models import PhoneClaim
from members.signup.models import ConsentRecord, SignupAnswer, SignupQuestion
from shops.models import Tag
from tests.factories import MemberFactory, SignupChoiceFactory, SignupQuestionFactory
from tests.line_fixtures import NOK, SOMCHAI
from tests.members.pages.conftest import branch_of, liff_sign_in, register, signup_data

# These tests read the English messages; Thai (the default) has its own tests.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SIGNUP = reverse("member:signup", kwargs={"shop_slug": "cafe"})
CARD = reverse("member:card", kwargs={"shop_slug": "cafe"})


def _post(client, shop, **overrides):
    data = signup_data(**overrides)
    data.setdefault("branch", branch_of(shop).pk)
    return client.post(SIGNUP, data)


def _snapshot(shop):
    """Everything a refused sign-up must leave as it was."""
    return (
        list(Member.objects.filter(shop=shop).order_by("pk").values()),
        LedgerEntry.objects.filter(shop=shop).count(),
        ConsentRecord.objects.filter(shop=shop).count(),
        SignupAnswer.objects.filter(shop=shop).count(),
    )


def test_sign_up_registers_the_line_user_with_welcome_points_and_consents(
    client, fake_line, line_shop
):
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)

    response = _post(client, line_shop)

    assert response.status_code == 302 and response["Location"] == CARD
    member = Member.objects.get(shop=line_shop, line_user_id=SOMCHAI)
    assert member.status == Member.Status.REGISTERED
    assert (member.first_name, member.last_name) == ("Somchai", "Jaidee")
    assert member.phone == "+66812345678"
    assert member.birthday == dt.date(1992, 3, 15)
    assert member.signup_branch == branch_of(line_shop)
    assert member.line_display_name == "สมชาย ใจดี"
    assert member.balance == 50
    assert member.ledger_entries.get().kind == "welcome"
    consents = {(c.kind, c.version, c.granted, c.method) for c in member.consents.all()}
    assert consents == {
        ("terms", 1, True, "signup"),
        ("privacy", 1, True, "signup"),
        ("marketing", None, False, "signup"),
    }


def test_marketing_consent_is_separate_and_never_ticked_in_advance(client, fake_line, line_shop):
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)

    page = client.get(SIGNUP).content.decode()
    marketing_input = page[
        page.index('name="marketing"') - 200 : page.index('name="marketing"') + 80
    ]
    assert "checked" not in marketing_input

    _post(client, line_shop, marketing="on")
    record = ConsentRecord.objects.get(kind="marketing")
    assert record.granted is True


def test_terms_not_accepted_is_refused_and_changes_nothing(client, fake_line, line_shop):
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)
    before = _snapshot(line_shop)

    response = _post(client, line_shop, accept_terms=None)

    assert response.status_code == 400
    assert response.context["form"].errors["accept_terms"]
    assert _snapshot(line_shop) == before


def test_sign_up_needs_a_line_sign_in_first(client, fake_line, line_shop):
    response = client.get(SIGNUP)

    assert response.status_code == 302
    assert response["Location"].startswith("/m/cafe/login/")


def test_signing_up_twice_goes_to_the_card_without_a_second_member(client, fake_line, line_shop):
    register(client, fake_line, line_shop, SOMCHAI)

    response = _post(client, line_shop, phone="0899999999")

    assert response.status_code == 302 and response["Location"] == CARD
    assert Member.objects.filter(shop=line_shop).count() == 1
    assert client.get(SIGNUP)["Location"] == CARD


# --- pending members -------------------------------------------------------------------------------


def _earn_pending(shop, phone="0812345678", amount="500", key="store-1"):
    return ledger.points_earn(
        shop=shop,
        phone=phone,
        amount=amount,
        branch=branch_of(shop),
        idempotency_key=key,
        actor=Actor.system(channel="store"),
    ).member


def test_sign_up_with_a_pending_members_phone_makes_a_new_account_and_moves_nothing(
    client, fake_line, line_shop
):
    # given a phone that earned at the store before anyone registered it
    pending = _earn_pending(line_shop)
    assert pending.status == Member.Status.PENDING and pending.balance == 20
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)

    # when a LINE user signs up typing that phone (another way)
    response = _post(client, line_shop, phone="+66 81 234 5678")

    # then they are a member at once, with their welcome points only: typing a phone proves
    # nothing, so the pending member keeps its phone, points and history until proof
    assert response.status_code == 302 and response["Location"] == CARD
    member = Member.objects.get(shop=line_shop, line_user_id=SOMCHAI)
    assert member.pk != pending.pk
    assert member.status == Member.Status.REGISTERED
    assert member.phone is None
    assert member.balance == 50
    assert [e.kind for e in member.ledger_entries.all()] == ["welcome"]
    pending.refresh_from_db()
    assert (pending.status, pending.phone, pending.balance) == ("pending", "+66812345678", 20)
    assert pending.line_user_id is None
    [claim] = PhoneClaim.objects.filter(member=member)
    assert (claim.pending_id, claim.phone, claim.status) == (pending.pk, "+66812345678", "open")


def test_two_line_users_typing_one_pending_phone_both_become_members(client, fake_line, line_shop):
    """The real owner is no longer told "the phone is taken" because someone typed it first."""
    pending = _earn_pending(line_shop)
    first = register(client, fake_line, line_shop, NOK, phone="0812345678")
    client.post(reverse("member:logout", kwargs={"shop_slug": "cafe"}))

    second = register(client, fake_line, line_shop, SOMCHAI, phone="0812345678")

    assert first.pk != second.pk
    claims = PhoneClaim.objects.filter(pending=pending, status="open")
    assert {c.member_id for c in claims} == {first.pk, second.pk}
    assert Member.objects.get(pk=pending.pk).balance == 20


def test_pending_member_bound_to_this_line_account_is_taken_over(client, fake_line, line_shop):
    # given a pending member the shop's own system bound to this LINE account (Open API)
    pending = MemberFactory(
        shop=line_shop, status=Member.Status.PENDING, phone="+66812345678", line_user_id=SOMCHAI
    )
    ledger.points_credit(
        member=pending, kind="import", points=30, idempotency_key="imp-1", actor=Actor.system()
    )

    member = register(client, fake_line, line_shop, SOMCHAI)

    # then LINE vouches for the binding: the same record is theirs, as before
    assert member.pk == pending.pk
    assert member.status == Member.Status.REGISTERED and member.balance == 30 + 50
    assert not PhoneClaim.objects.exists()


def test_pending_member_bound_to_this_line_account_starts_with_its_phone(
    client, fake_line, line_shop
):
    MemberFactory(
        shop=line_shop, status=Member.Status.PENDING, phone="+66891112222", line_user_id=SOMCHAI
    )
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)

    page = client.get(SIGNUP)

    assert page.context["form"].initial["phone"] == "089-111-2222"


@pytest.mark.parametrize("their_line", [NOK, None], ids=["with-line", "without-line"])
def test_phone_of_another_registered_member_is_refused_and_changes_nothing(
    client, fake_line, line_shop, their_line
):
    MemberFactory(shop=line_shop, phone="+66812345678", line_user_id=their_line)
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)
    before = _snapshot(line_shop)

    response = _post(client, line_shop, phone="0812345678")

    assert response.status_code == 400
    assert "already registered to another member" in str(response.context["form"].errors["phone"])
    assert _snapshot(line_shop) == before


def test_pending_member_bound_to_another_line_account_is_not_taken_over(
    client, fake_line, line_shop
):
    MemberFactory(
        shop=line_shop, status=Member.Status.PENDING, phone="+66812345678", line_user_id=NOK
    )
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)
    before = _snapshot(line_shop)

    response = _post(client, line_shop)

    assert response.status_code == 400
    assert _snapshot(line_shop) == before


def test_phone_of_a_member_of_another_shop_is_fine(client, fake_line, line_shop, other_shop):
    MemberFactory(shop=other_shop, phone="+66812345678")
    member = register(client, fake_line, line_shop, SOMCHAI)

    assert member.phone == "+66812345678"


# --- birthdays -------------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC), tick=False)
@pytest.mark.parametrize(
    ("birthday", "words"),
    [
        ("2535-03-15", "1992"),  # BE typed as CE: refused, with the CE year as a hint
        ("2569-01-01", "2026"),
        ("2026-12-01", "future"),
        ("15/03/2535", "1992"),
        ("1850-01-01", "year"),
        ("not a date", "date"),
    ],
)
def test_impossible_birthdays_are_refused_with_a_hint(
    client, fake_line, line_shop, birthday, words
):
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)
    before = _snapshot(line_shop)

    response = _post(client, line_shop, birthday=birthday)

    assert response.status_code == 400
    assert words in str(response.context["form"].errors["birthday"])
    assert _snapshot(line_shop) == before


@time_machine.travel(dt.datetime(2026, 11, 23, 17, 30, tzinfo=dt.UTC), tick=False)
def test_birthday_today_in_bangkok_is_fine_just_after_midnight(client, fake_line, line_shop):
    # 00:30 on 24 Nov in Bangkok is still 23 Nov in UTC
    member = register(client, fake_line, line_shop, SOMCHAI, birthday="2000-11-24")

    assert member.birthday == dt.date(2000, 11, 24)


# --- the shop's own questions ----------------------------------------------------------------------


@pytest.fixture
def questions(line_shop):
    coffee = Tag.objects.create(shop=line_shop, name="Coffee lover")
    office = Tag.objects.create(shop=line_shop, name="Office")
    likes = SignupQuestionFactory(
        shop=line_shop, label="What do you like?", kind=SignupQuestion.Kind.MULTIPLE, order=1
    )
    coffee_choice = SignupChoiceFactory(question=likes, label="Coffee", tag=coffee)
    SignupChoiceFactory(question=likes, label="Tea")
    job = SignupQuestionFactory(
        shop=line_shop, label="Occupation", kind=SignupQuestion.Kind.SINGLE, required=True, order=2
    )
    office_choice = SignupChoiceFactory(question=job, label="Office worker", tag=office)
    SignupChoiceFactory(question=job, label="Student")
    cups = SignupQuestionFactory(
        shop=line_shop, label="Cups a day", kind=SignupQuestion.Kind.NUMBER, order=3
    )
    since = SignupQuestionFactory(
        shop=line_shop, label="Customer since", kind=SignupQuestion.Kind.DATE, order=4
    )
    note = SignupQuestionFactory(
        shop=line_shop, label="Anything else", kind=SignupQuestion.Kind.TEXT, order=5
    )
    hidden = SignupQuestionFactory(
        shop=line_shop, label="Retired question", required=True, is_active=False
    )
    return {
        "likes": likes,
        "job": job,
        "cups": cups,
        "since": since,
        "note": note,
        "hidden": hidden,
        "coffee": coffee_choice,
        "office": office_choice,
    }


def test_answers_are_stored_and_chosen_choices_attach_their_tags(
    client, fake_line, line_shop, questions
):
    q = questions
    member = register(
        client,
        fake_line,
        line_shop,
        SOMCHAI,
        **{
            f"q_{q['likes'].pk}": [q["coffee"].pk],
            f"q_{q['job'].pk}": q["office"].pk,
            f"q_{q['cups'].pk}": "2.5",
            f"q_{q['since'].pk}": "2020-01-31",
            f"q_{q['note'].pk}": "Less sugar please",
        },
    )

    answers = {a.question.label: a for a in member.signup_answers.select_related("question")}
    assert [c.label for c in answers["What do you like?"].choices.all()] == ["Coffee"]
    assert [c.label for c in answers["Occupation"].choices.all()] == ["Office worker"]
    assert str(answers["Cups a day"].number_value) == "2.50"
    assert answers["Customer since"].date_value == dt.date(2020, 1, 31)
    assert answers["Anything else"].text == "Less sugar please"
    assert "Retired question" not in answers
    assert sorted(t.name for t in member.tags.all()) == ["Coffee lover", "Office"]


def test_a_missing_required_answer_is_refused_and_changes_nothing(
    client, fake_line, line_shop, questions
):
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)
    before = _snapshot(line_shop)

    response = _post(client, line_shop)  # "Occupation" is required

    assert response.status_code == 400
    assert response.context["form"].errors[f"q_{questions['job'].pk}"]
    assert _snapshot(line_shop) == before


def test_a_choice_of_another_question_is_refused(client, fake_line, line_shop, questions):
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)
    before = _snapshot(line_shop)

    response = _post(client, line_shop, **{f"q_{questions['job'].pk}": questions["coffee"].pk})

    assert response.status_code == 400
    assert _snapshot(line_shop) == before


def test_the_service_refuses_a_missing_required_answer_too(line_shop, questions):
    """Forms check shape; the rule lives in the service, for every caller."""
    from members.signup.errors import InvalidAnswer
    from members.signup.services import member_register

    with pytest.raises(InvalidAnswer) as refused:
        member_register(
            shop=line_shop,
            line_user_id=SOMCHAI,
            first_name="A",
            last_name="B",
            phone="0812345678",
            birthday=dt.date(1990, 1, 1),
            answers={},
            accepted_terms=True,
        )
    assert "Occupation" in str(refused.value)
    assert not Member.objects.filter(shop=line_shop).exists()


def test_the_page_shows_only_active_questions_in_order(client, fake_line, line_shop, questions):
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)

    html = client.get(SIGNUP).content.decode()

    positions = [html.index(label) for label in ("What do you like?", "Occupation", "Cups a day")]
    assert positions == sorted(positions)
    assert "Retired question" not in html
