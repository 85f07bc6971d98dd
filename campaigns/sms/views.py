"""The public opt-out page, opened from the link at the end of a marketing SMS. Thai and English
on one page (the person may read either; nothing tells us which), phone-sized, and the opt-out
happens only on the button (POST): a link preview that fetches the page opts nobody out."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from campaigns.sms.links import read_opt_out_token
from campaigns.sms.models import SmsOptOut
from campaigns.sms.services import sms_opt_out
from loyalty.phones import mask_phone
from shops.models import Shop

TEMPLATE = "campaigns/sms/opt_out.html"


@never_cache
@require_http_methods(["GET", "POST"])
def opt_out(request: HttpRequest, token: str) -> HttpResponse:
    found = read_opt_out_token(token)
    shop = Shop.objects.filter(pk=found[0]).first() if found else None
    if shop is None:
        return render(request, TEMPLATE, {"invalid": True}, status=404)
    phone = found[1]
    if request.method == "POST":
        sms_opt_out(shop=shop, phone=phone, how=SmsOptOut.How.LINK)
        return redirect(request.path)
    done = SmsOptOut.objects.filter(shop=shop, phone=phone).exists()
    return render(request, TEMPLATE, {"shop": shop, "phone": mask_phone(phone), "done": done})
