"""SMS to members: each shop's sender name and monthly budget, opt-outs with a public page, an
outbox sent by a job (docs/sms.md, docs/campaigns.md)."""
