"""The cashier's reward pages, joined into the staff app's URLs (namespace ``staff``) by
``members.staff.urls``: use a coupon or a spot code, hand a delivery over."""

from django.urls import path

from rewards.staff import views

urlpatterns = [
    path("coupon/", views.coupon, name="coupon"),
    path("coupon/confirm/", views.coupon_confirm, name="coupon_confirm"),
    path("coupon/done/<uuid:redemption_id>/", views.coupon_done, name="coupon_done"),
    path("delivery/", views.delivery, name="delivery"),
    path("delivery/m/<uuid:member_id>/", views.delivery_member, name="delivery_member"),
    path(
        "delivery/<uuid:redemption_id>/hand-over/",
        views.delivery_hand_over,
        name="delivery_hand_over",
    ),
    path("delivery/<uuid:redemption_id>/done/", views.delivery_done, name="delivery_done"),
]
