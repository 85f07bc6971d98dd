"""A tracked link (one per link of a broadcast, made when sending starts) and its clicks.

A broadcast is one message for up to 500 members at once (a multicast), so a link cannot carry
the member: the redirect learns who taps from the member pages' LINE sign-in in that browser.
A click is one row per link and member (the first tap), so counting rows counts members.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from members.models import Member
from shops.models import Shop, Tag

TOKEN_BYTES = 16  # 128 random bits: a token cannot be guessed, nor one shop's found from another's


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


class TrackedLink(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="tracked_links", verbose_name=_("shop")
    )
    source = models.CharField(
        _("sent in"), max_length=80, help_text=_('What the link was sent in ("broadcast:<id>").')
    )
    key = models.CharField(_("link"), max_length=20, help_text=_("Which link of the messages."))
    target = models.URLField(_("opens"), max_length=1000)
    tags = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="+",
        verbose_name=_("tags given"),
        help_text=_("A member who taps the link gets these tags."),
    )
    token = models.CharField(
        _("token"), max_length=40, unique=True, default=new_token, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("tracked link")
        verbose_name_plural = _("tracked links")
        ordering = ["source", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "source", "key"], name="tracked_link_once_per_source_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.key}"


class LinkClick(models.Model):
    """A member's first tap on a tracked link (later taps change nothing)."""

    link = models.ForeignKey(
        TrackedLink, on_delete=models.CASCADE, related_name="clicks", verbose_name=_("link")
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="link_clicks", verbose_name=_("member")
    )
    clicked_at = models.DateTimeField(_("first tapped"), auto_now_add=True)

    class Meta:
        verbose_name = _("link click")
        verbose_name_plural = _("link clicks")
        ordering = ["-clicked_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["link", "member"], name="link_click_once_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.link} · {self.member_id}"
