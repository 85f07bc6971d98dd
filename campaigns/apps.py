from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from campaigns.autoreplies import services
        from campaigns.broadcasts import personal_data as broadcasts_personal_data
        from campaigns.links import personal_data as links_personal_data
        from campaigns.richmenus import actiontags
        from campaigns.richmenus import signals as richmenu_signals
        from campaigns.segments import personal_data as segments_personal_data
        from campaigns.sms import personal_data as sms_personal_data
        from members.line import router

        router.register("message", services.handle_message)
        router.register("follow", services.handle_follow)
        router.register("postback", actiontags.handle_postback)
        richmenu_signals.connect()
        segments_personal_data.register()
        broadcasts_personal_data.register()
        sms_personal_data.register()
        links_personal_data.register()
