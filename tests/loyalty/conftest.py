"""Fixtures for the project-wide pieces (``loyalty/``)."""

from tests.line_fixtures import fake_line, unreachable_line

__all__ = ["fake_line", "unreachable_line"]
