from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = _("Rewards")

    def ready(self) -> None:
        # A redemption's debit is undone only by cancelling the redemption: the ledger asks this
        # lookup before it reverses an entry (members.ledger.owners).
        from members.ledger.owners import register_entry_owner
        from rewards.rules import REDEMPTION_OWNER
        from rewards.selectors import redemption_entry_owners

        register_entry_owner(REDEMPTION_OWNER, redemption_entry_owners)

        # Rewards' sections of "download my data" and erasers of its personal data (PDPA).
        from rewards import personal_data

        personal_data.register()
