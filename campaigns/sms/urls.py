from django.urls import path

from campaigns.sms import views

# Short on purpose: the link is part of every marketing SMS, where each character costs.
urlpatterns = [path("<str:token>", views.opt_out, name="sms-opt-out")]
