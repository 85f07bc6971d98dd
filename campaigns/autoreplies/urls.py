from django.urls import path

from campaigns.autoreplies import views

app_name = "autoreplies"

# No trailing slash: LINE fetches an imagemap's picture at exactly ``baseUrl/<width>``.
urlpatterns = [
    path("<uuid:key>/<int:width>", views.reply_image, name="image"),
]
