"""Staff onboarding by invite and the audit log of staff actions (issue 4)."""
