"""Events: every state change a merchant may want to hear of."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.ids import new_id
from api.store.models import Event


def record_event(session: Session, marketplace_id: str, type: str, data: dict[str, Any]) -> Event:
    event = Event(id=new_id("evt"), marketplace_id=marketplace_id, type=type, data={"object": data})
    session.add(event)
    return event
