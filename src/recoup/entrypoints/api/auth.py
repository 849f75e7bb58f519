"""(being built)"""

from __future__ import annotations

from fastapi import APIRouter

from recoup.bootstrap import App
from recoup.entrypoints.api.deps import Authenticator, RefuseAll

router = APIRouter()


def authenticator_for(app: App) -> Authenticator:
    return RefuseAll()
