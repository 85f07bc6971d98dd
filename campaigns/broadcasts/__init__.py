"""Broadcasts: messages to the members of one or more segments, on LINE (and SMS for those LINE
cannot reach), now or at a set time, with their results afterwards."""
