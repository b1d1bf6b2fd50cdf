"""The fake's OAuth side: au10001 issues tokens and au10002 revokes them, with Kiwoom's checks and answers.

Called by FakeKiwoom.handle with its lock held; no HTTP, no threads.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..auth._token import KST
from ._replies import _OK, ERRORS

if TYPE_CHECKING:
    from . import FakeKiwoom


@dataclass
class _Issued:
    value: str
    environment: str
    appkey: str
    expires_at: datetime
    revoked: bool = False


def check_keys(fake: "FakeKiwoom", environment: str, body: dict[str, Any]) -> dict[str, Any] | None:
    appkey, secretkey = body.get("appkey"), body.get("secretkey")
    if not appkey or not secretkey:
        return {"return_code": 2, "return_msg": "입력 값 오류입니다[8020:appkey 또는 secretkey가 없습니다]"}
    other = "mock" if environment == "production" else "production"
    if appkey == fake.keys[other][0]:
        return dict(ERRORS["wrong_environment"][1])
    if (appkey, secretkey) != fake.keys[environment]:
        return dict(ERRORS["wrong_keys"][1])
    return None

def issue(fake: "FakeKiwoom", environment: str, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("grant_type") is None:
        return {"return_code": 2, "return_msg": "입력 값 오류입니다[8011:grant_type이 없습니다]"}
    if body.get("grant_type") != "client_credentials":
        return {"return_code": 2, "return_msg": "입력 값 오류입니다[8012:grant_type이 올바르지 않습니다]"}
    refused = check_keys(fake, environment, body)
    if refused:
        return refused
    now = datetime.now(timezone.utc)
    issued = None
    if fake.same_token:
        issued = next((t for t in fake.tokens if t.environment == environment and t.appkey == body["appkey"]
                       and not t.revoked and t.expires_at > now), None)
    if issued is None:
        expires = (now + fake.lifetime).replace(microsecond=0)
        issued = _Issued(secrets.token_urlsafe(64), environment, body["appkey"], expires)
        fake.tokens.append(issued)
    return {
        "expires_dt": issued.expires_at.astimezone(KST).strftime("%Y%m%d%H%M%S"),
        "token_type": fake.token_type,
        "token": issued.value,
        "return_code": 0,
        "return_msg": _OK,
    }

def revoke(fake: "FakeKiwoom", environment: str, body: dict[str, Any]) -> dict[str, Any]:
    refused = check_keys(fake, environment, body)
    if refused:
        return refused
    if not body.get("token"):
        return {"return_code": 2, "return_msg": "입력 값 오류입니다[8016:Token이 없습니다]"}
    issued = next((t for t in fake.tokens if t.value == body["token"]), None)
    if issued is None or issued.revoked or issued.appkey != body["appkey"]:
        return dict(ERRORS["invalid_token"][1])
    issued.revoked = True
    return {"return_code": 0, "return_msg": _OK}
