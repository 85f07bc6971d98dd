"""Validators for shop settings: colours, LINE IDs and the typed contact channels."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.translation import gettext_lazy as _

from loyalty.phones import normalise_phone

_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
_LINE_BASIC_ID = re.compile(r"^@[a-z0-9._-]{3,20}$")
_LINE_ID = re.compile(r"^@?[a-z0-9._-]{3,20}$")

# Hosts a link of each social or marketplace channel must point to.
CHANNEL_HOSTS: dict[str, tuple[str, ...]] = {
    "facebook": ("facebook.com", "fb.com", "fb.me", "m.me"),
    "instagram": ("instagram.com", "instagr.am"),
    "tiktok": ("tiktok.com",),
    "youtube": ("youtube.com", "youtu.be"),
    "x": ("x.com", "twitter.com"),
    "shopee": ("shopee.co.th", "shopee.com", "shp.ee"),
    "lazada": ("lazada.co.th", "lazada.com", "s.lazada.co.th"),
    "line_shopping": ("shop.line.me", "line.me", "lin.ee"),
}


# Channels where people often type a handle ("@cafearoi") instead of a link: the profile link.
HANDLE_URLS: dict[str, str] = {
    "instagram": "https://www.instagram.com/{handle}",
    "tiktok": "https://www.tiktok.com/@{handle}",
    "x": "https://x.com/{handle}",
}
_HANDLE = re.compile(r"^@([A-Za-z0-9._]{1,30})$")
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)


def validate_hex_colour(value: str) -> None:
    if not _HEX.match(value or ""):
        raise ValidationError(
            _("Enter a colour as # and six hex digits, e.g. #06C755."), code="invalid"
        )


def validate_line_basic_id(value: str) -> None:
    if value and not _LINE_BASIC_ID.match(value.lower()):
        raise ValidationError(
            _(
                "A LINE OA ID starts with @ and has 3–20 letters, digits, dots, - or _, e.g. @cafearoi."
            ),
            code="invalid",
        )


def _host_matches(host: str, allowed: tuple[str, ...]) -> bool:
    # Subdomains (www., m., vt., s.) match their site; "m.me" (Messenger) is a site of its own.
    host = host.lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in allowed)


def normalise_contact_value(kind: str, value: str) -> str:
    """Check a contact channel's value for its kind and return it in stored form.

    Phones become E.164; e-mail addresses are lower-cased; links must be http(s) and, for a social
    network or marketplace, point at that site (a Shopee link in the Lazada row is a typo). An
    Instagram, TikTok or X handle (``@cafearoi``) becomes the profile link.
    """
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("Enter the address for this channel."), code="required")
    if kind == "phone":
        return normalise_phone(value)
    if kind == "email":
        EmailValidator(message=_("Enter a valid e-mail address."))(value)
        return value.lower()
    if kind == "line":
        if _SCHEME.match(value) or value.lower().startswith(("line.me/", "lin.ee/")):
            return _normalise_url(value, ("line.me", "lin.ee"), kind)
        if not _LINE_ID.match(value.lower()):
            raise ValidationError(
                _("Enter a LINE ID (e.g. @cafearoi) or a line.me link."), code="invalid"
            )
        return value.lower()
    if kind == "website":
        return _normalise_url(value, None, kind)
    if kind in HANDLE_URLS and (handle := _HANDLE.match(value)):
        return HANDLE_URLS[kind].format(handle=handle.group(1))
    if kind in CHANNEL_HOSTS:
        return _normalise_url(value, CHANNEL_HOSTS[kind], kind)
    raise ValidationError(_("Unknown channel."), code="invalid")


def _normalise_url(value: str, hosts: tuple[str, ...] | None, kind: str) -> str:
    """An http(s) link with the scheme and host in lower case. A link with a user name or
    password in it (``https://facebook.com@evil.example``) is refused: members would be misled."""
    invalid = ValidationError(
        _("Enter a full link, e.g. https://www.example.com/…"), code="invalid"
    )
    if not _SCHEME.match(value):
        value = "https://" + value
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError as exc:
        raise invalid from exc
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise invalid
    host = parts.hostname or ""
    if hosts and not _host_matches(host, hosts):
        raise ValidationError(
            _("This link should point to %(site)s."),
            code="wrong_site",
            params={"site": hosts[0]},
        )
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))
