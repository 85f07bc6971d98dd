"""The campaigns' back-office pages, one module per sub-package (Django's admin loads this one)."""

import campaigns.autoreplies.admin
import campaigns.richmenus.admin
import campaigns.segments.rfm_admin  # noqa: F401 - rich menus, RFM settings
