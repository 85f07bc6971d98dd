"""URLs of the staff app, under ``/staff/`` (namespace ``staff``).

The rewards issue adds "use coupon" and "hand over delivery" by creating ``rewards/staff/urls.py``
with ``urlpatterns`` named ``coupon`` and ``delivery``; they join this namespace here, and the
navigation shows them as soon as they exist.
"""

from importlib import import_module
from importlib.util import find_spec

from django.urls import path

from members.staff import account_views, claim_views, phone_views, views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", account_views.sign_in, name="login"),
    path("logout/", account_views.sign_out, name="logout"),
    path("join/<str:token>/", account_views.join, name="join"),
    path("branch/", account_views.choose_branch_view, name="branch"),
    path("find/", views.find, name="find"),
    path("m/<uuid:member_id>/", views.member_page, name="member"),
    path("m/<uuid:member_id>/phone/", phone_views.phone_confirm, name="phone_confirm"),
    path("add/review/", views.review, name="review"),
    path("add/approve/", views.approve, name="approve"),
    path("add/confirm/", views.confirm, name="confirm"),
    path("add/preview/", views.preview, name="preview"),
    path("done/<uuid:entry_id>/", views.done, name="done"),
    path("claim/", claim_views.claim_new, name="claim_new"),
    path("claim/<uuid:claim_id>/", claim_views.claim_detail, name="claim"),
    path("claim/<uuid:claim_id>/status/", claim_views.claim_status, name="claim_status"),
    path("claim/<uuid:claim_id>/cancel/", claim_views.claim_cancel, name="claim_cancel"),
    path("today/", views.today, name="today"),
    path("today/<uuid:entry_id>/void/", views.void, name="void"),
]

if find_spec("rewards.staff.urls") is not None:
    urlpatterns += import_module("rewards.staff.urls").urlpatterns
