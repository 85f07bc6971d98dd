"""Who moves points, recorded on every ledger entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from members.ledger.models import ActorKind, Channel

if TYPE_CHECKING:
    from shops.models import ApiKey, User


@dataclass(frozen=True)
class Actor:
    """The person, key or job behind a write, and the channel it came through."""

    kind: str
    channel: str
    user: User | None = None
    api_key: ApiKey | None = None
    # A manager who approved this staff write (a purchase above the cashier amount limit).
    approved_by: User | None = None

    @classmethod
    def staff(
        cls, user: User, *, channel: str = Channel.STORE, approved_by: User | None = None
    ) -> Actor:
        return cls(kind=ActorKind.STAFF, channel=channel, user=user, approved_by=approved_by)

    @classmethod
    def admin(cls, user: User) -> Actor:
        return cls(kind=ActorKind.STAFF, channel=Channel.ADMIN, user=user)

    @classmethod
    def api(cls, api_key: ApiKey) -> Actor:
        return cls(kind=ActorKind.API, channel=Channel.API, api_key=api_key)

    @classmethod
    def member(cls) -> Actor:
        return cls(kind=ActorKind.MEMBER, channel=Channel.LINE)

    @classmethod
    def system(cls, *, channel: str = Channel.SYSTEM) -> Actor:
        return cls(kind=ActorKind.SYSTEM, channel=channel)

    def entry_fields(self) -> dict:
        return {
            "actor_kind": self.kind,
            "created_by": self.user,
            "api_key": self.api_key,
            "approved_by": self.approved_by,
        }
