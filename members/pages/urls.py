"""URLs of the member pages, included under ``/m/<shop_slug>/`` with the namespace ``member``."""

from django.urls import path

from members.pages import auth_views, link_views, phone_views, views

app_name = "member"

urlpatterns = [
    path("", views.home, name="home"),
    path("card/", views.card, name="card"),
    path("card/code/", views.card_code, name="card_code"),
    path("history/", views.history, name="history"),
    path("phone/", phone_views.phone, name="phone"),
    path("phone/send/", phone_views.phone_send, name="phone_send"),
    path("phone/verify/", phone_views.phone_verify, name="phone_verify"),
    path("phone/withdraw/", phone_views.phone_withdraw, name="phone_withdraw"),
    path("profile/", views.profile, name="profile"),
    path("profile/marketing/", views.marketing, name="marketing"),
    path("profile/notices/", views.notices, name="notices"),
    path("profile/my-data.json", views.data_json, name="data_json"),
    path("profile/my-data.xlsx", views.data_xlsx, name="data_xlsx"),
    path("profile/delete/", views.delete_account, name="delete"),
    path("signup/", auth_views.signup_view, name="signup"),
    path("link/", link_views.link, name="link"),
    path("login/", auth_views.login, name="login"),
    path("login/callback/", auth_views.callback, name="callback"),
    path("login/liff/", auth_views.liff, name="liff"),
    path("logout/", auth_views.logout, name="logout"),
]
