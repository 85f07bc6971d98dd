"""Segments, broadcasts, coupon pushes, surveys, auto-replies and rich menus (a later issue)."""
