"""The shop's LINE Official Account as a conversation: the webhook LINE posts events to, the events
stored once each, the LINE friends they maintain, and the router that hands postbacks and messages
to the handlers later features register.

- ``models.py``: ``WebhookEvent`` (one row per ``webhookEventId`` per shop), ``LineFriend``.
- ``views.py``: ``POST /line/webhook/<shop-slug>/``: signature, parse, store, enqueue.
- ``services.py``: storing events (one insert-ignore statement), processing them, friends.
- ``router.py``: ``register(event_type, handler)`` for postback and message events.
- ``tasks.py``: the django-q2 entry point; ``selectors.py``: the friends page's reads.
- ``admin.py``: the "LINE friends" page.
"""
