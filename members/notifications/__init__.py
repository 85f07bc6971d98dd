"""Member notifications: LINE messages to a member when their points or rewards change, sent
through the outbox (``loyalty.outbox``) inside the transaction of the change."""
