"""The services fraud's lifespan builds: what every route reaches through
`fraud.routes.state.services`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from fraud.assessor import Assessor
from fraud.config import Settings


@dataclass(frozen=True)
class Services:
    """The running service: its settings, its store's sessions and the assessor."""

    settings: Settings
    sessions: sessionmaker[Session]
    assessor: Assessor
