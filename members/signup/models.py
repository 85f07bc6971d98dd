"""The sign-up page's extra questions, members' answers, and consent records (PDPA).

A shop asks the base questions (name, phone, birthday, branch) and up to
``LOYALTY_MAX_SIGNUP_QUESTIONS`` questions of its own. A choice can attach a tag, so answering
"Office worker" puts the member in that segment (MyCustomer: "ตั้งคำถามเพิ่มเติม พร้อมติดแท็ก").

Every acceptance of the terms or the privacy policy, and every marketing consent given or
withdrawn, is one ``ConsentRecord`` (what, which version, when, how); records are never changed.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.models import PolicyDocument, Shop, Tag, check_shop_limit

MAX_CHOICES_PER_QUESTION = 20


class SignupQuestion(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        DATE = "date", _("Date")
        NUMBER = "number", _("Number")

    CHOICE_KINDS = (Kind.SINGLE, Kind.MULTIPLE)

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="signup_questions", verbose_name=_("shop")
    )
    label = models.CharField(_("question"), max_length=200)
    kind = models.CharField(_("answer type"), max_length=10, choices=Kind, default=Kind.TEXT)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("hint"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(
        _("shown on the sign-up page"),
        default=True,
        help_text=_("Untick to stop asking; answers already given are kept."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("sign-up question")
        verbose_name_plural = _("sign-up questions")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        self.label = (self.label or "").strip()
        check_shop_limit(
            self,
            setting="LOYALTY_MAX_SIGNUP_QUESTIONS",
            message=_(
                "A shop can ask at most %(limit)s questions of its own. Change or delete a "
                "question instead."
            ),
        )

    @property
    def has_choices(self) -> bool:
        return self.kind in self.CHOICE_KINDS


class SignupChoice(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop")
    )
    question = models.ForeignKey(
        SignupQuestion, on_delete=models.CASCADE, related_name="choices", verbose_name=_("question")
    )
    label = models.CharField(_("choice"), max_length=120)
    tag = models.ForeignKey(
        Tag,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tag to attach"),
        help_text=_("Members who choose this get the tag."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        self.label = (self.label or "").strip()
        # The question may be new and unsaved (the admin validates choices with their question).
        question = self._meta.get_field("question").get_cached_value(self, default=None)
        if question is None and self.question_id:
            question = self.question
        if question is not None and question.shop_id:
            self.shop_id = question.shop_id
        if self.tag_id and self.tag.shop_id != self.shop_id:
            raise ValidationError({"tag": _("Choose one of your shop's own tags.")})


class SignupAnswer(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop")
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.CASCADE,
        related_name="signup_answers",
        verbose_name=_("member"),
    )
    question = models.ForeignKey(
        SignupQuestion, on_delete=models.CASCADE, related_name="answers", verbose_name=_("question")
    )
    text = models.TextField(_("text"), blank=True)
    date_value = models.DateField(_("date"), null=True, blank=True)
    number_value = models.DecimalField(
        _("number"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    choices = models.ManyToManyField(SignupChoice, blank=True, related_name="+")
    answered_at = models.DateTimeField(_("answered"), default=timezone.now)

    class Meta:
        verbose_name = _("sign-up answer")
        verbose_name_plural = _("sign-up answers")
        constraints = [
            models.UniqueConstraint(fields=["member", "question"], name="signupanswer_once")
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.display_value()}"

    def display_value(self, choices=None) -> str:
        """The answer as text (pass the chosen choices when they were prefetched)."""
        kind = SignupQuestion.Kind
        if self.question.kind in SignupQuestion.CHOICE_KINDS:
            chosen = choices if choices is not None else self.choices.all()
            return ", ".join(c.label for c in chosen)
        if self.question.kind == kind.DATE:
            return self.date_value.isoformat() if self.date_value else ""
        if self.question.kind == kind.NUMBER:
            return "" if self.number_value is None else f"{self.number_value.normalize():f}"
        return self.text


class ConsentRecord(models.Model):
    class Kind(models.TextChoices):
        TERMS = "terms", _("Terms of service")
        PRIVACY = "privacy", _("Privacy policy")
        MARKETING = "marketing", _("Marketing messages")

    class Method(models.TextChoices):
        SIGNUP = "signup", _("Sign-up page")
        PROFILE = "profile", _("Member profile page")
        ADMIN = "admin", _("Back office")
        IMPORT = "import", _("Import")
        API = "api", _("Open API")

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="consent_records", verbose_name=_("shop")
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="consents",
        verbose_name=_("member"),
    )
    kind = models.CharField(_("what"), max_length=10, choices=Kind)
    document = models.ForeignKey(
        PolicyDocument,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("document"),
    )
    version = models.PositiveIntegerField(_("version"), null=True, blank=True)
    granted = models.BooleanField(_("given"), help_text=_("Given (accepted) or withdrawn."))
    method = models.CharField(_("how"), max_length=10, choices=Method)
    recorded_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["member", "kind", "-recorded_at"], name="consent_member_kind")
        ]

    def __str__(self) -> str:
        what = self.get_kind_display()
        if self.version:
            what = f"{what} v{self.version}"
        return f"{what}: {_('given') if self.granted else _('withdrawn')}"
