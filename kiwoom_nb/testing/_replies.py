"""What the fake answers with: the demo keys, the error answers reported from the real Kiwoom, and the reply shape
shared by the OAuth side, the TR side and the loopback server. Stdlib only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: Keys the demo server accepts (``make demo``); fake, printed on purpose.
DEMO_KEYS = {
    "production": ("DEMO-APPKEY-0001", "DEMO-SECRETKEY-0001"),
    "mock": ("DEMO-MOCK-APPKEY-0001", "DEMO-MOCK-SECRETKEY-0001"),
}

_OK = "정상적으로 처리되었습니다"

#: The error answers reported from the real Kiwoom: name -> (HTTP status, body or raw text, content type).
ERRORS: dict[str, tuple[int, Any, str]] = {
    "wrong_keys": (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8001:App Key와 Secret Key 검증에 실패했습니다]"}, "json"),
    "invalid_token": (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8005:Token이 유효하지 않습니다]"}, "json"),
    "wrong_environment": (200, {"return_code": 2, "return_msg": "입력 값 오류입니다[8030:투자구분(실전/모의)이 달라서 Appkey를 사용할수가 없습니다]"}, "json"),
    "ip_changed": (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8010:Token을 발급받은 IP와 서비스를 요청한 IP가 동일하지 않습니다]"}, "json"),
    "device_auth": (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8050:지정단말기 인증에 실패했습니다]"}, "json"),
    "top_level_code": (200, {"return_code": 8005, "return_msg": "Token이 유효하지 않습니다"}, "json"),
    "string_code": (200, {"return_code": "8001", "return_msg": "App Key와 Secret Key 검증에 실패했습니다"}, "json"),
    "rate_limited": (429, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다"}, "json"),
    "rate_limited_tr": (429, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 초과하였습니다 유량=2, API ID=ka10081]"}, "json"),
    "too_many_items": (200, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다[1634:한번에 조회 가능한 종목 개수(100개)를 초과하였습니다]"}, "json"),
    "missing_field": (200, {"return_code": 2, "return_msg": "입력 값 오류입니다[1511:필수 입력 값에 값이 존재하지 않습니다 필드=stk_cd]"}, "json"),
    "unknown_stock": (200, {"return_code": 2, "return_msg": "입력 값 오류입니다[1902:종목 정보가 없습니다]"}, "json"),
    "mock_unsupported": (200, {"return_code": 2, "return_msg": "입력 값 오류입니다[8104:모의투자에서는 지원하지 않는 API입니다]"}, "json"),
    "other_environment_token": (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8031:투자구분(실전/모의)이 달라서 Token을 사용할수 없습니다]"}, "json"),
    "unauthorized": (401, {"return_code": 3, "return_msg": "인증에 실패했습니다"}, "json"),
    "blocked": (400, "<html><body><h1>Request Blocked</h1></body></html>", "html"),
    "rate_code": (200, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 초과하였습니다]"}, "json"),
    "server_error": (500, {"return_code": 99, "return_msg": "Internal Server Error"}, "json"),
    "bad_gateway": (502, "Bad Gateway", "text"),
    "maintenance": (200, "<html><body><h1>시스템 점검 중입니다</h1></body></html>", "html"),
    "not_json": (200, "OK", "text"),
    "no_token": (200, {"expires_dt": "20991231235959", "token_type": "bearer", "return_code": 0, "return_msg": _OK}, "json"),
    "bad_expiry": (200, {"expires_dt": "tomorrow", "token_type": "bearer", "token": "X" * 40, "return_code": 0, "return_msg": _OK}, "json"),
}


@dataclass
class _Reply:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    delay: float = 0.0
    hang: bool = False


def _answer(status: int, payload: Any, kind: str, api_id: str) -> _Reply:
    if kind == "json":
        content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        ctype = "application/json;charset=UTF-8"
    else:
        content = str(payload).encode("utf-8")
        ctype = "text/html;charset=UTF-8" if kind == "html" else "text/plain"
    headers = {"Content-Type": ctype, "api-id": api_id, "cont-yn": "N", "next-key": ""}
    return _Reply(status, headers, content)
