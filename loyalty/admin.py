"""Small fixes to the admin pages of the libraries the operator sees (django-axes' sign-in
lock-outs): words that the library shows without passing them through gettext."""

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
