from django.urls import path

from campaigns.broadcasts import views

app_name = "broadcasts"

# No trailing slash: LINE fetches an imagemap's picture at exactly ``baseUrl/<width>``.
urlpatterns = [
    path("media/<uuid:key>/<int:width>", views.media, name="media"),
]
