from campaigns.autoreplies import admin as autoreplies_admin  # noqa: F401 - LINE chat pages
