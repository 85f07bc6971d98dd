"""Tracked links and active tags (seed 001, "Active Tags"): a link sent to members goes through a
redirect of ours, ``/r/<token>``, that counts who tapped it (once per member) and gives the
member the link's tags, then opens the link."""
