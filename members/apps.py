from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members and points")

    def ready(self) -> None:
        from members.pages import export
        from members.phone_claims import personal_data
        from members.signup.services import member_erased

        # Phone claims and one-time codes hold phone numbers: erased with the member, and part of
        # "download my data".
        member_erased.connect(personal_data.erase, dispatch_uid="phone_claims_erase")
        export.register_section("phone_claims", personal_data.export)
