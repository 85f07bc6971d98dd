"""The staff app (``/staff/``): cashiers add points at the counter on their own phone (issue 4)."""
