"""The LINE platform's calls into the project (included at ``/line/`` by ``loyalty/urls.py``)."""

from django.urls import path

from members.line.views import line_webhook

urlpatterns = [
    path("webhook/<slug:shop_slug>/", line_webhook, name="line-webhook"),
]
