"""Project-wide django-q2 jobs."""

from django.core.management import call_command


def clear_expired_sessions() -> None:
    """Delete expired sessions (idempotent)."""
    call_command("clearsessions")


def purge_api_requests() -> int:
    """Daily: delete Open API request records past IDEMPOTENCY_RETENTION_DAYS (idempotent)."""
    from loyalty.api_idempotency import idempotency_records_purge

    return idempotency_records_purge()
