"""The campaigns' back-office pages, one module per sub-package (Django's admin loads this one)."""

import campaigns.autoreplies.admin
import campaigns.broadcasts.admin
import campaigns.richmenus.admin
import campaigns.segments.admin
import campaigns.segments.rfm_admin
import campaigns.sms.admin  # noqa: F401 - broadcasts, rich menus, segments, RFM, SMS
