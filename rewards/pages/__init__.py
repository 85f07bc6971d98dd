"""The member's reward pages (``/m/<shop_slug>/rewards/``, namespace ``rewards``): the catalogue, a
reward, redeem, redeem at the counter, my coupons, my deliveries. As ``members.pages``: forms check
shape, views parse → service or selector → render."""
