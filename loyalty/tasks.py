"""Project-wide django-q2 jobs."""

from django.core.management import call_command


def clear_expired_sessions() -> None:
    """Delete expired sessions (idempotent)."""
    call_command("clearsessions")
