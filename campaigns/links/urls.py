"""``/r/<token>`` (the URL sent to members) and ``/m/<shop>/r/<token>`` (where the LINE sign-in
comes back to), included at the site's root with the namespace ``links``."""

from django.urls import path

from campaigns.links import views

app_name = "links"

urlpatterns = [
    path("r/<str:token>", views.follow, name="follow"),
    path("m/<slug:shop_slug>/r/<str:token>", views.follow, name="signed_in"),
]
