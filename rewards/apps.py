from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = _("Rewards")

    def ready(self) -> None:
        # Rewards' sections of "download my data" and erasers of its personal data (PDPA).
        from rewards import personal_data

        personal_data.register()
