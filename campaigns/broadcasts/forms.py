"""The back office's broadcast forms: the composer (its shape only: the rules are
``services.broadcast_save``'s, whose refusals come back onto these fields), a picture or video
upload for the messages, the test send and the confirm step."""

from __future__ import annotations

import datetime as dt
import json

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.broadcasts.models import Broadcast
from campaigns.broadcasts.services import MAX_TEST_RECIPIENTS
from campaigns.segments.models import Segment
from loyalty.text import TypedTextForm
from members.line.models import LineFriend
from rewards.models import Reward
from shops.images import SafeImageField
from shops.models import Shop

NOW, LATER = "now", "later"
VIDEO_TYPES = ("video/mp4",)
VIDEO_MAX_BYTES = 200 * 1024 * 1024  # LINE's limit for a video message
# The service's field names → the composer's (the send time is typed as a date and a time).
SERVICE_FIELDS = {"send_at": "send_date"}


class BroadcastForm(TypedTextForm, forms.Form):
    name = forms.CharField(
        label=_("name"),
        max_length=200,
        help_text=_("For the back office only; members never see it."),
    )
    segments = forms.ModelMultipleChoiceField(
        label=_("segments"),
        queryset=Segment.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Members of any of these segments get it (each once)."),
    )
    messages = forms.CharField(
        label=_("messages"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "data-bc-messages": ""}),
        help_text=_("Up to 5 messages, sent together in this order."),
    )
    sms_text = forms.CharField(
        label=_("SMS text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Sent by SMS to members LINE cannot reach (not bound, blocked, not a friend) who have "
            "a phone number. Empty: no SMS."
        ),
    )
    coupon_reward = forms.ModelChoiceField(
        label=_("coupon to give"),
        queryset=Reward.objects.none(),
        required=False,
        help_text=_("Each recipient gets one coupon of this reward, free (no points)."),
    )
    consent_only = forms.BooleanField(
        label=_("only members who agreed to marketing messages"),
        required=False,
        initial=True,
        help_text=Broadcast._meta.get_field("consent_only").help_text,
    )
    holdout_percent = forms.IntegerField(
        label=_("hold-out share (%)"),
        min_value=0,
        max_value=50,
        initial=0,
        help_text=Broadcast._meta.get_field("holdout_percent").help_text,
    )
    attribution_days = forms.IntegerField(
        label=_("results window (days)"),
        min_value=1,
        max_value=90,
        initial=7,
        help_text=Broadcast._meta.get_field("attribution_days").help_text,
    )
    send_mode = forms.ChoiceField(
        label=_("send"),
        choices=[(NOW, _("Now, once confirmed")), (LATER, _("At a date and time"))],
        widget=forms.RadioSelect,
        initial=NOW,
    )
    send_date = forms.DateField(
        label=_("date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    send_time = forms.TimeField(
        label=_("time"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )

    def __init__(self, *args, shop: Shop, broadcast: Broadcast | None = None, **kwargs):
        if broadcast is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_of(broadcast)
        super().__init__(*args, **kwargs)
        self.shop = shop
        self.fields["segments"].queryset = Segment.objects.filter(shop=shop).order_by("name")
        self.fields["coupon_reward"].queryset = Reward.objects.filter(shop=shop).order_by("name")

    def clean_messages(self) -> list:
        raw = self.cleaned_data.get("messages") or "[]"
        try:
            parts = json.loads(raw)
        except ValueError:
            raise forms.ValidationError(_("The messages could not be read.")) from None
        if not isinstance(parts, list):
            raise forms.ValidationError(_("The messages could not be read."))
        return parts

    def clean(self):
        data = super().clean()
        data["send_at"] = None
        if data.get("send_mode") == LATER:
            day, time = data.get("send_date"), data.get("send_time")
            if day is None or time is None:
                self.add_error("send_date", _("Choose the date and the time to send it."))
            else:
                zone = timezone.get_current_timezone()
                data["send_at"] = dt.datetime.combine(day, time, tzinfo=zone)
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "segment_ids": [s.pk for s in data["segments"]],
            "messages": data["messages"],
            "sms_text": data.get("sms_text") or "",
            "coupon_reward_id": data["coupon_reward"].pk if data.get("coupon_reward") else None,
            "consent_only": data.get("consent_only", False),
            "holdout_percent": data["holdout_percent"],
            "attribution_days": data["attribution_days"],
            "send_at": data["send_at"],
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put each of ``broadcast_save``'s refusals on its field (the others on the form)."""
        for field, problems in errors.items():
            name = SERVICE_FIELDS.get(field, field)
            for problem in problems:
                self.add_error(name if name in self.fields else None, problem)


def initial_of(broadcast: Broadcast) -> dict:
    local = timezone.localtime(broadcast.send_at) if broadcast.send_at else None
    return {
        "name": broadcast.name,
        "segments": list(broadcast.segments.values_list("pk", flat=True)),
        "messages": json.dumps(broadcast.messages, ensure_ascii=False),
        "sms_text": broadcast.sms_text,
        "coupon_reward": broadcast.coupon_reward_id,
        "consent_only": broadcast.consent_only,
        "holdout_percent": broadcast.holdout_percent,
        "attribution_days": broadcast.attribution_days,
        "send_mode": LATER if local else NOW,
        "send_date": local.date() if local else None,
        "send_time": local.time().replace(second=0, microsecond=0) if local else None,
    }


class MediaUploadForm(TypedTextForm, forms.Form):
    """A picture, or a video with its preview picture, for the composer (uploaded on its own,
    before the broadcast is saved)."""

    kind = forms.ChoiceField(choices=[("image", "image"), ("video", "video")])
    file = forms.FileField()
    preview = SafeImageField(required=False, max_side=1024)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if data.get("kind") == "image" and upload is not None:
            # Re-encoded like every upload (LINE takes at most 10 MB and 2500 px a side here).
            try:
                data["file"] = SafeImageField(max_side=2500).clean(upload)
            except forms.ValidationError as exc:
                self.add_error("file", exc)
        elif data.get("kind") == "video" and upload is not None:
            if getattr(upload, "content_type", "") not in VIDEO_TYPES:
                self.add_error("file", _("Choose an MP4 video."))
            elif upload.size > VIDEO_MAX_BYTES:
                self.add_error("file", _("The video is larger than LINE takes (200 MB)."))
            if not data.get("preview"):
                self.add_error("preview", _("Choose the video's preview picture."))
        return data


class TestSendForm(TypedTextForm, forms.Form):
    line_user_ids = forms.MultipleChoiceField(
        label=_("send the test to"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Up to %(n)s friends of the shop's LINE account, e.g. your staff.")
        % {"n": MAX_TEST_RECIPIENTS},
    )

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line_user_ids"].choices = friend_choices(shop)

    def clean_line_user_ids(self) -> list[str]:
        ids = self.cleaned_data["line_user_ids"]
        if len(ids) > MAX_TEST_RECIPIENTS:
            raise forms.ValidationError(
                _("A test goes to at most %(n)s people.") % {"n": MAX_TEST_RECIPIENTS}
            )
        return ids


def friend_choices(shop: Shop) -> list[tuple[str, str]]:
    """The OA's friends (the first 200 by LINE name): staff pick their own accounts."""
    friends = (
        LineFriend.objects.filter(shop=shop, state=LineFriend.State.FRIEND)
        .select_related("member")
        .order_by("member__line_display_name", "line_user_id")[:200]
    )
    return [(f.line_user_id, friend_label(f)) for f in friends]


def friend_label(friend: LineFriend) -> str:
    member = friend.member
    name = member.display_name if member else ""
    short = f"…{friend.line_user_id[-6:]}"
    return f"{name} ({short})" if name else short


class ConfirmForm(TypedTextForm, forms.Form):
    recipients = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
