"""Top-level URLs: the landing page, the back office, language switching, and (in later issues)
the staff app, the member pages and the Open API."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from campaigns.richmenus import views as richmenu_views
from loyalty import views
from loyalty.api import api
from members.staff.member_views import member_claim

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("staff/", include("members.staff.urls")),
    path("line/", include("members.line.urls")),
    path("r/m/<str:token>", richmenu_views.area_tap, name="richmenu-tap"),
    path("autoreply/", include("campaigns.autoreplies.urls")),
    path("b/", include("campaigns.broadcasts.urls")),
    path("s/", include("campaigns.sms.urls")),
    path("", include("campaigns.links.urls")),  # r/<token>, m/<shop>/r/<token>
    path("m/<slug:shop_slug>/claim/<str:token>", member_claim, name="member-claim"),
    path("m/<slug:shop_slug>/rewards/", include("rewards.pages.urls")),
    path("m/<slug:shop_slug>/", include("members.pages.urls")),
]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(
            r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}, name="media"
        )
    ]
