"""Where uploaded shop images are stored (``upload_to`` of the image fields; the migrations name
these functions as ``shops.models.<name>``)."""

from __future__ import annotations

import uuid


def _upload_path(instance, filename: str, prefix: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    shop = getattr(instance, "shop", None) or instance
    return f"shops/{shop.public_id}/{prefix}-{uuid.uuid4().hex}.{ext}"


def logo_upload_to(instance, filename: str) -> str:
    return _upload_path(instance, filename, "logo")


def card_upload_to(instance, filename: str) -> str:
    return _upload_path(instance, filename, "card")


def tier_card_upload_to(instance, filename: str) -> str:
    return _upload_path(instance, filename, "tier")


def season_upload_to(instance, filename: str) -> str:
    return _upload_path(instance, filename, "season")
