"""Create or update the django-q2 schedules declared in ``loyalty.schedules``. Idempotent."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from loyalty.schedules import REPEATING, SCHEDULES


def next_local_run(at: dt.time, now: dt.datetime | None = None) -> dt.datetime:
    """The next instant at local time-of-day ``at`` (today if still ahead, else tomorrow)."""
    now = timezone.localtime(now or timezone.now())
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if candidate <= now:
        candidate += dt.timedelta(days=1)
    return candidate


class Command(BaseCommand):
    help = "Create or update the scheduled jobs declared in loyalty/schedules.py."

    @transaction.atomic
    def handle(self, *args, **options):
        created = updated = unchanged = 0
        for job in SCHEDULES:
            existing = Schedule.objects.filter(name=job.name).first()
            if existing is None:
                Schedule.objects.create(
                    name=job.name,
                    func=job.func,
                    schedule_type=Schedule.DAILY,
                    repeats=-1,
                    next_run=next_local_run(job.at),
                )
                created += 1
                continue
            local_next = timezone.localtime(existing.next_run) if existing.next_run else None
            same_time = local_next is not None and (local_next.hour, local_next.minute) == (
                job.at.hour,
                job.at.minute,
            )
            if (
                existing.func == job.func
                and existing.schedule_type == Schedule.DAILY
                and existing.repeats == -1
                and same_time
            ):
                unchanged += 1
                continue
            existing.func = job.func
            existing.schedule_type = Schedule.DAILY
            existing.repeats = -1
            if not same_time:
                existing.next_run = next_local_run(job.at)
            existing.save()
            updated += 1
        for job in REPEATING:
            existing = Schedule.objects.filter(name=job.name).first()
            if existing is None:
                Schedule.objects.create(
                    name=job.name,
                    func=job.func,
                    schedule_type=Schedule.MINUTES,
                    minutes=job.minutes,
                    repeats=-1,
                    next_run=timezone.now(),
                )
                created += 1
            elif (existing.func, existing.schedule_type, existing.minutes, existing.repeats) == (
                job.func,
                Schedule.MINUTES,
                job.minutes,
                -1,
            ):
                unchanged += 1
            else:
                existing.func, existing.schedule_type = job.func, Schedule.MINUTES
                existing.minutes, existing.repeats = job.minutes, -1
                existing.save()
                updated += 1
        self.stdout.write(f"schedules: {created} created, {updated} updated, {unchanged} unchanged")
