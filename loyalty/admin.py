"""Small fixes to the admin pages of the libraries the operator sees (django-axes' sign-in
lock-outs, django-q2's jobs): words shown without gettext, and dates as people read them."""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class AccessAttemptWithLabelsAdmin(AccessAttemptAdmin):
    """django-axes' own admin, with a translatable title for its "status" column."""

    @admin.display(description=_("status"))
    def status(self, obj: AccessAttempt):
        return super().status(obj)


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, AccessAttemptWithLabelsAdmin)


def _with_people_dates() -> None:
    """The platform pages from libraries (background jobs, sign-in lock-outs) show their dates as
    ours do: Buddhist Era years in Thai."""
    from loyalty.admin_dates import PeopleDatesAdminMixin

    for model, model_admin in list(admin.site._registry.items()):
        if model._meta.app_label not in ("axes", "django_q"):
            continue
        if isinstance(model_admin, PeopleDatesAdminMixin):
            continue
        cls = type(model_admin)
        admin.site.unregister(model)
        admin.site.register(model, type(cls.__name__, (PeopleDatesAdminMixin, cls), {}))


_with_people_dates()
