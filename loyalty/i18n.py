"""Which language a page speaks.

Member pages (``/m/<shop>/...``) and the staff app (``/staff/...``) speak the language the person
chose with the switch on the page (Django's language cookie, set by ``set_language``), or else the
shop's language. The phone's Accept-Language never decides there: a Thai shop's members and
cashiers get Thai on an English-language phone unless they switch. The back office keeps Django's
own rule (the choice, then the browser, then the site's default, Thai).

``PageLanguageMiddleware`` (after ``LocaleMiddleware``) takes Accept-Language out of the member
and staff pages, falling back to the site's default; the views that know the shop then call
``activate_page_language(request, shop.language)``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

PERSON_PAGES = ("/m/", "/staff/")


def chosen_language(request: HttpRequest) -> str | None:
    """The language the person chose on a page (the language cookie), if we speak it."""
    code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    supported = {code for code, _name in settings.LANGUAGES}
    return code if code in supported else None


def activate_page_language(request: HttpRequest, default: str) -> str:
    """Speak the person's chosen language, else ``default`` (the shop's), for the rest of this
    request; returns the language."""
    supported = {code for code, _name in settings.LANGUAGES}
    language = chosen_language(request) or (
        default if default in supported else settings.LANGUAGE_CODE
    )
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


class PageLanguageMiddleware:
    """On member and staff pages, replace the browser's language by the person's choice or the
    site's default; the view refines the default to the shop's language once it knows the shop."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(PERSON_PAGES):
            activate_page_language(request, settings.LANGUAGE_CODE)
        return self.get_response(request)
