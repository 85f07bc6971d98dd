"""Two condition kinds that read other apps' rules (the rest are in ``conditions.py``, which
registers these):

- ``reward``: ``rewards``: reward ids of the shop. Members who could redeem any of them now, by
  the rules the redemption itself applies: the reward is active, open (``active_from`` /
  ``active_until``), in stock (and, for a pool of codes, has a free code), the member's tier is
  allowed, the member is under the per-member limit (completed redemptions), owes no points from a
  refund, and has at least the reward's points *spendable today* (open lots that are past the
  shop's return window and not expired: the ledger's rule, so points still pending do not count).
  ``rewards.rules.refusal_for``, the pool check and ``member_points_summary`` are the same rule in
  Python; a property test checks that they agree.
- ``signup_answer``: ``question``: a sign-up question of the shop, and either ``choices`` (choice
  ids of that question: answered with any of them) or ``answered`` true / false (gave any answer to
  it at all; empty answers are not stored, so "answered" means an answer was given).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from members.ledger.models import PointLot
from members.signup.models import SignupAnswer, SignupChoice, SignupQuestion
from rewards.models import Redemption, Reward, RewardCode

# --- reading --------------------------------------------------------------------------------------


def _id_list(raw: Any, missing: str, foreign: str) -> list[int]:
    if not isinstance(raw, list) or not raw:
        raise ValidationError(missing)
    if any(isinstance(value, bool) for value in raw):
        raise ValidationError(foreign)
    try:
        return sorted({int(value) for value in raw})
    except (TypeError, ValueError):
        raise ValidationError(foreign) from None


def parse_reward(shop_id: int, item: dict) -> dict:
    foreign = _("some of the rewards are not this shop's.")
    ids = _id_list(item.get("rewards"), _("choose at least one reward."), foreign)
    found = set(Reward.objects.filter(shop_id=shop_id, pk__in=ids).values_list("pk", flat=True))
    if found != set(ids):
        raise ValidationError(foreign)
    return {"rewards": ids}


def parse_signup_answer(shop_id: int, item: dict) -> dict:
    raw = item.get("question")
    if raw in (None, "") or isinstance(raw, bool | list | dict):
        raise ValidationError(_("choose a sign-up question."))
    try:
        question = SignupQuestion.objects.filter(shop_id=shop_id, pk=int(raw)).first()
    except (TypeError, ValueError):
        question = None
    if question is None:
        raise ValidationError(_("the sign-up question is not this shop's."))
    has_choices, has_answered = "choices" in item, "answered" in item
    if has_choices == has_answered:
        raise ValidationError(_("give either the choices or whether the question was answered."))
    if has_answered:
        if not isinstance(item["answered"], bool):
            raise ValidationError(_("choose yes or no."))
        return {"question": question.pk, "answered": item["answered"]}
    if not question.has_choices:
        raise ValidationError(_("this question has no choices; ask whether it was answered."))
    foreign = _("some of the choices are not choices of this question.")
    ids = _id_list(item["choices"], _("choose at least one answer."), foreign)
    found = SignupChoice.objects.filter(shop_id=shop_id, question=question, pk__in=ids)
    if set(found.values_list("pk", flat=True)) != set(ids):
        raise ValidationError(foreign)
    return {"question": question.pk, "choices": ids}


# --- as SQL ---------------------------------------------------------------------------------------


def q_reward(shop_id: int, values: dict) -> Q:
    """Inside the ``Reward`` subquery ``OuterRef("pk")`` is the reward and
    ``OuterRef(OuterRef(...))`` the member."""
    now = timezone.now()
    today = timezone.localdate(now)
    member = OuterRef(OuterRef("pk"))
    spendable = (
        PointLot.objects.filter(member_id=member, remaining__gt=0, available_on__lte=today)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .order_by()
        .values("member_id")
        .annotate(total=Sum("remaining"))
        .values("total")
    )
    taken = (
        Redemption.objects.filter(
            member_id=member, reward_id=OuterRef("pk"), status=Redemption.Status.COMPLETED
        )
        .order_by()
        .values("reward_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    tiers = Reward.allowed_tiers.through.objects.filter(reward_id=OuterRef("pk"))
    pool = Q(kind=Reward.Kind.CUSTOM_CODE, code_source=Reward.CodeSource.POOL)
    free_code = RewardCode.objects.filter(reward_id=OuterRef("pk"), redemption__isnull=True)
    redeemable = (
        Reward.objects.filter(shop_id=shop_id, pk__in=values["rewards"], is_active=True)
        .filter(Q(active_from__isnull=True) | Q(active_from__lte=now))
        .filter(Q(active_until__isnull=True) | Q(active_until__gte=now))
        .filter(Q(stock__isnull=True) | Q(stock__gt=0))
        .filter(~pool | Q(Exists(free_code)))
        .filter(~Q(Exists(tiers)) | Q(Exists(tiers.filter(tier_id=OuterRef(OuterRef("tier_id"))))))
        .annotate(
            taken=Coalesce(Subquery(taken, output_field=IntegerField()), 0),
            spendable=Coalesce(Subquery(spendable, output_field=IntegerField()), 0),
        )
        .filter(
            Q(per_member_limit__isnull=True)
            | Q(per_member_limit=0)
            | Q(per_member_limit__gt=F("taken"))
        )
        .filter(points_cost__lte=F("spendable"))
    )
    return Q(debt=0) & Q(Exists(redeemable))


def q_signup_answer(shop_id: int, values: dict) -> Q:
    answers = SignupAnswer.objects.filter(
        shop_id=shop_id, member_id=OuterRef("pk"), question_id=values["question"]
    )
    if "choices" in values:
        return Q(Exists(answers.filter(choices__in=values["choices"])))
    answered = Q(Exists(answers))
    return answered if values["answered"] else ~answered
