"""URLs of the broadcast admin's extra pages built apart from ``BroadcastAdmin`` (the results
page). ``BroadcastAdmin.get_urls`` puts ``urlpatterns_for(self.admin_site)`` before its own."""

from __future__ import annotations

from django.urls import URLPattern, path

from campaigns.broadcasts.results_admin import results_view


def urlpatterns_for(admin_site) -> list[URLPattern]:
    return [
        path(
            "<int:object_id>/results/",
            admin_site.admin_view(results_view),
            {"admin_site": admin_site},
            name="campaigns_broadcast_results",
        ),
    ]
