"""Rich menus by audience: a shop's menus, published to LINE, and each LINE user linked to the
menu of their audience (tier, then bound/unbound, then the OA's default)."""
