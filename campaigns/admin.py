"""The campaigns' back-office pages, one module per sub-package (Django's admin loads this one)."""

import campaigns.richmenus.admin  # noqa: F401
