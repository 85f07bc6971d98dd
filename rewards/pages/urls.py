"""URLs of the member's reward pages, included under ``/m/<shop_slug>/rewards/`` with the
namespace ``rewards``. Ids are public UUIDs: a reward's, or a redemption's for its coupon or
delivery."""

from django.urls import path

from rewards.pages import views

app_name = "rewards"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("coupons/", views.coupons, name="coupons"),
    path("coupons/<uuid:redemption_id>/", views.coupon, name="coupon"),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/<uuid:redemption_id>/", views.delivery, name="delivery"),
    path("<uuid:reward_id>/", views.detail, name="detail"),
    path("<uuid:reward_id>/redeem/", views.redeem, name="redeem"),
    path("<uuid:reward_id>/counter/", views.counter, name="counter"),
    path("<uuid:reward_id>/counter/status/", views.counter_status, name="counter_status"),
]
