"""Stub for the rewards branch: the sheets helper's loyalty/exports.py replaces it at merge."""

from members.imports.admin import ExportAdminMixin  # replaced at merge
from members.imports.exports import EXPORTS, Export, register  # replaced at merge

__all__ = ["EXPORTS", "Export", "ExportAdminMixin", "register"]
