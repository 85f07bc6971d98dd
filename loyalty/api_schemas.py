"""Schemas every Open API module shares (django-ninja): the error envelope that
``loyalty.api`` answers for every refusal, so each app's endpoints declare the same shape."""

from __future__ import annotations

from ninja import Schema


class ErrorDetail(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorDetail
