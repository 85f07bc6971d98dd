from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members and points")

    def ready(self) -> None:
        # The personal-data registry (PDPA): "download my data" sections and erasers of the
        # members app's own models; apps above register theirs in their own ready().
        from members import personal_data
        from members.line import signals as line_signals
        from members.pages import export  # noqa: F401 - registers the built-in sections
        from members.phone_claims import personal_data as phone_claims_data

        personal_data.register_members_own()
        phone_claims_data.register()
        line_signals.connect()
