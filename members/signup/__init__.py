"""Sign-up: the shop's questions, members' answers, consent records, and the account services a
member uses from the member pages (register, profile, marketing consent, erase)."""
