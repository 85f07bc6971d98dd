"""The cashier's side of rewards in the staff app (``/staff/``, namespace ``staff``): use a coupon
or confirm a member's spot code, hand a delivered reward over in the store. Its pages render in the
staff app's shell (``members.staff.shell``) and its URLs are joined into the staff app's by
``members.staff.urls``."""
