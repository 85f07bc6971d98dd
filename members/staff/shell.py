"""Stub for the rewards branch: the plumbing helper's members/staff/shell.py replaces it at merge."""

from members.staff.views import render_staff  # replaced at merge

__all__ = ["render_staff"]
