"""Fixtures for the project-wide pieces (``loyalty/``)."""

from tests.line_fixtures import fake_line, unreachable_line
from tests.sms_fixtures import fake_sms, unreachable_sms

__all__ = ["fake_line", "fake_sms", "unreachable_line", "unreachable_sms"]
