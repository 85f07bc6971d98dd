"""The outbox: every LINE message leaves through one table (docs/_line/outbox.md).

A cause (points earned, a broadcast) calls ``services.outbox_enqueue`` inside its own transaction;
the rows commit with it or not at all, and ``transaction.on_commit`` hands them to django-q2.
``sender`` sends them with line-bot-sdk under a retry key, so a retry never sends twice. The models
belong to the ``loyalty`` app (``loyalty.models`` imports them); the admin lives with the shops'
other pages in ``members.outbox_admin``, because loyalty does not import shops.
"""
