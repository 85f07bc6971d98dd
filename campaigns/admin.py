"""The campaigns' back-office pages, one module per sub-package (Django's admin loads this one)."""

import campaigns.autoreplies.admin
import campaigns.broadcasts.admin
import campaigns.richmenus.admin  # noqa: F401 - rich menus
