"""django-q2 entry points of the member import. Each takes the job's id, loads it and calls one
service; each is safe to run twice (a job already past the step is left alone)."""

from members.imports import services


def validate_import(job_id: int) -> str:
    """Check an uploaded member list and record the preview."""
    return services.import_validate(job_id=job_id).state


def commit_import(job_id: int) -> str:
    """Write a confirmed member import."""
    return services.import_commit(job_id=job_id).state


def purge_stale_imports() -> int:
    """Daily: delete uploaded member lists that were never confirmed (after 7 days)."""
    return services.imports_purge_stale(days=7)


def purge_import_errors() -> int:
    """Daily: delete the row errors (cell values: personal data) of imports finished 30 days ago."""
    return services.import_errors_purge(days=30)
