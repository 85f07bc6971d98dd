"""The member pages under /m/<shop slug>/: sign-in with LINE, sign-up, card, history, profile."""
