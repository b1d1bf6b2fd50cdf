"""Build kiwoom_nb/data/trs.tsv, fields.json and fids.json (package data) from Kiwoom's REST API guide.

    python scripts/kiwoom-guide.py [SOURCE] [--retrieved YYYY-MM-DD] [--check]

SOURCE is Kiwoom's guide as data, ``kiwoom_api_spec.json``: the file itself, or a ``kwcli`` wheel (Kiwoom's own
package on PyPI, which ships it as ``kiwoom/_data/kiwoom_api_spec.json``; the same file lives at that path in the
GitHub repository Kiwoom-Securities/Kiwoom-REST-API). Without SOURCE the script fetches the pinned wheel
(KWCLI_VERSION below) with ``pip download`` into a temporary folder.

Facts only. Kiwoom's licence forbids redistributing its files and prose, so this script ships no Kiwoom file and
copies no description sentence. It takes api-ids, paths, Korean names, categories, field names, Korean field names,
required flags, types, lengths and the list keys, and reads the enumerated code lists out of the descriptions into
data ({code: short meaning}); everything else in a description is dropped. For the real-time WebSocket it takes
each type's code, Korean name and market, and each FID's number and Korean name; the readable FID names
(``10`` -> ``cur_prc``) are kiwoom_nb's own: the name the TR catalogue's answers give the same Korean name, else
one written here (FID_NAMES, LEVELS).

The output is deterministic: the same guide gives byte-identical files. The header of each file records the
source (package, path in it, sha256 of the guide file) and the day it was retrieved. That day is --retrieved, else
the day already recorded when the guide's sha256 has not changed, else today.

--check regenerates in memory and exits 1 if the files on disk differ (for CI or a reviewer).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

KWCLI_VERSION = "1.0.3"
SPEC_IN_WHEEL = "kiwoom/_data/kiwoom_api_spec.json"
REPOSITORY = "Kiwoom-Securities/Kiwoom-REST-API"
ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "kiwoom_nb" / "data" / "trs.tsv"
CATALOGUE = ROOT / "kiwoom_nb" / "data" / "fields.json"
FIDS = ROOT / "kiwoom_nb" / "data" / "fids.json"
FORMAT = 1  # bump when the catalogue's layout changes (kiwoom_nb/_trs.py reads it)
FIDS_FORMAT = 1  # bump when fids.json's layout changes (kiwoom_nb/live/_fids.py reads it)

MARKETS = {"국내주식": "domestic", "미국주식": "us"}


# -- reading the guide --------------------------------------------------------------------------------------------

def read_source(source: str | None) -> tuple[bytes, str]:
    """The guide's bytes and a description of where they came from."""
    if source is None:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", f"kwcli=={KWCLI_VERSION}", "--no-deps",
                            "--only-binary=:all:", "--python-version", "3.13", "-d", tmp, "-q"], check=True)
            wheel = next(Path(tmp).glob("kwcli-*.whl"))
            return read_source(str(wheel))
    path = Path(source)
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as whl:
            data = whl.read(SPEC_IN_WHEEL)
        wheel_sha = hashlib.sha256(path.read_bytes()).hexdigest()
        return data, f"{SPEC_IN_WHEEL} in the PyPI wheel {path.name} (sha256 {wheel_sha})"
    return path.read_bytes(), f"{path.name} (a copy of {SPEC_IN_WHEEL} from {REPOSITORY} or the kwcli wheel)"


def rest_trs(guide: dict) -> list[dict]:
    """Every REST TR of the guide (the WebSocket entries left out), sorted by api-id."""
    out = []
    for entry in guide["apis"].values():
        meta = entry["meta"]
        if "/websocket" in meta["URL"]:
            continue
        out.append(entry)
    return sorted(out, key=lambda e: e["meta"]["API ID"].strip())


def clean(text: object) -> str:
    return " ".join(str(text).split())


# -- code lists in descriptions ------------------------------------------------------------------------------------

# Fields whose values are identifiers of open-ended things (stocks, sectors, issuers, members): a list in their
# description names some of them, never all, so it becomes examples, never a closed list of codes.
OPEN_ENDED = {"stk_cd", "inds_cd", "isscomp_cd", "lpcd", "bsis_aset_cd", "mmcm_cd", "thema_grp_cd", "arn_grp_id"}
# Words that say a list is partial or points elsewhere.
PARTIAL = ("참고", "참조", "..", ",,", "나머지", "등)", "ex.")
CODE = r"[%A-Za-z0-9_.]{1,12}"
FORWARD = re.compile(rf"^(?P<code>{CODE})\s*:\s*(?P<meaning>.*)$")
BACKWARD = re.compile(r"^(?P<meaning>[^:]*?[^\x00-\x7f][^:]*?)\s*:\s*(?P<code>[%A-Z0-9_]{1,12})$")
BACKWARD_LOOSE = re.compile(r"^(?P<meaning>[^:]+?)\s*:\s*(?P<code>[%A-Z0-9_]{1,12})$")
LONG_CODE = re.compile(r"^(?P<code>[A-Z]\d{5,})\s*:?\s+(?P<meaning>\S.*)$")
BARE = re.compile(r"^[%A-Z0-9_]{1,12}$")
DATE = re.compile(r"^(YYYYMMDD|YYYMMDD|YYYYMM|YYYY)\b")
STEPS = re.compile(r"^0\s*:\s*전체[\s,]+(?P<steps>\d+(?:\s*,\s*\d+)+)\s*\((?P<unit>[^)]*)\)\s*이상")
BY_EXCHANGE = re.compile(r"(코스피|코스닥)\s*-\s*(?P<body>[^\n]*)")


def split_items(text: str) -> list[str]:
    """Split a description at commas and newlines (outside parentheses), and before a ``code:`` inside a run."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if ch in ",\n" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for part in parts:
        # "0:전체 1:5미만" and "2:NXT 3:통합": a space (outside parentheses) before another code-colon starts an item
        start = 0
        for m in re.finditer(r"(?<=\S)\s+(?=[%A-Z0-9]{1,6}\s?:(?!\s*$))", part):
            before = part[:m.start()]
            if before.count("(") + before.count("[") == before.count(")") + before.count("]"):
                out.append(part[start:m.start()].strip())
                start = m.end()
        out.append(part[start:].strip())
    return [p for p in out if p]


def meaning_of(text: str) -> str:
    text = re.split(r"\s*(?:※|나머지)", clean(text))[0].rstrip(".").strip()
    if text.startswith("(") and text.endswith(")") and text.count("(") == 1:
        text = text[1:-1].strip()
    return text


def parse_codes(field: str, description: str) -> tuple[dict[str, str], bool]:
    """The codes a description enumerates, and whether the list is closed (every allowed value).

    Returns ({}, False) when it enumerates none.
    """
    text = description.strip()
    if not text:
        return {}, False
    if ":" not in text and " or " not in text:
        bare = [item.strip() for item in text.split(",")]
        if len(bare) > 1 and all(BARE.match(item) for item in bare):  # "KRX,NXT,SOR"
            return {item: "" for item in bare}, True
        return {}, False
    # "0 or 1" (meanings borrowed later from the same field elsewhere in the guide)
    m = re.match(r"^(\w{1,4}) or (\w{1,4})\b", text)
    if m:
        return {m.group(1): "", m.group(2): ""}, True
    # "0:전체, 10,15,20,…(1만단위) 이상": thresholds in units of 10,000 (of USD where the unit says so)
    m = STEPS.match(text)
    if m:
        unit = "USD " if "USD" in m.group("unit") else ""
        codes = {"0": "전체"}
        for step in re.findall(r"\d+", m.group("steps")):
            codes[step] = f"{unit}{step}만 이상"
        return codes, True
    # "코스피- 거래소구분값 1일경우:P00101, 2일경우:…": market codes that depend on the exchange (stex_tp)
    if "일경우:" in text:
        codes = {}
        for market, body in BY_EXCHANGE.findall(text):
            for n, code in re.findall(r"(\d)일경우\s*:\s*([A-Z0-9_]+)", body):
                codes[code] = f"{market} (stex_tp={n})"
        return codes, bool(codes)
    text = text.replace(";", ":")
    text = re.sub(r"(?<=\s)(\d)\.(?=[^\d\s])", r"\1:", text)  # "2:NXT 3.통합"
    if "," not in text:  # "00:지정가 03시장가 26:VWAP지정가": a missing colon in a space-separated run
        text = re.sub(r"(?<=\s)(\d{2})(?=[가-힣])", r"\1:", text)
    items = split_items(text)
    first = next((i for i in items if FORWARD.match(i) or BACKWARD.match(i)), None)
    backward = first is not None and FORWARD.match(first) is None  # "금액:0, 수량:1": meaning first
    codes: dict[str, str] = {}
    rest: list[str] = []
    last = None
    for item in items:
        m = LONG_CODE.match(item)
        if m is None:
            m = BACKWARD_LOOSE.match(item) if backward else FORWARD.match(item)
        if m is None and not backward:
            inner = re.match(r"^(?P<prefix>[^(:]+)\((?P<inner>[^()]*:[^()]*)\)(?P<suffix>[^()]*)$", item)
            if inner:  # "분단위(5:10분,6:30분)-…": codes inside a parenthesised group
                sub, closed = parse_codes(field, inner.group("inner"))
                if sub and closed:
                    codes.update(sub)
                    continue
        if m is not None:
            code, meaning = m.group("code").strip(), meaning_of(m.group("meaning"))
            if code == "기본값" or meaning == "기본값":
                continue
            codes.setdefault(code, meaning)
            last = code
            continue
        if re.match(r"^기본값\s*:", item) or "고정" in item or item.startswith("※") or "경우" in item \
                or item.startswith("미입력시") or (item == "USD" and not codes):
            continue
        if BARE.match(item) and (codes or all(BARE.match(i) for i in items)):
            codes.setdefault(item, "")
            last = item
            continue
        if last is not None and re.fullmatch(r"[가-힣+ ]+", item) and codes[last]:
            codes[last] += ", " + item  # "4:관리종목, 우선주제외": a meaning with a comma in it
            continue
        rest.append(item)
    if not codes:
        return {}, False
    partial = any(word in description for word in PARTIAL)
    closed = not rest and not partial and field not in OPEN_ENDED
    if len(codes) == 1 and "고정" not in description:
        closed = False  # one code named: an example, not the whole list
    if rest and len(rest) >= len(codes) and not partial:
        return {}, False  # mostly prose: no reliable list
    return codes, closed


def date_format(description: str) -> str:
    m = DATE.match(description.strip())
    if not m:
        return ""
    return "YYYYMMDD" if m.group(1) == "YYYMMDD" else m.group(1)


# -- building ------------------------------------------------------------------------------------------------------

def build(guide: dict) -> tuple[list[list[str]], dict[str, dict]]:
    trs = rest_trs(guide)
    table, catalogue = [], {}
    parsed: dict[tuple[str, str], tuple[dict[str, str], bool]] = {}
    for entry in trs:
        meta = entry["meta"]
        api_id = meta["API ID"].strip()
        for f in entry["request"]["body"]:
            parsed[(api_id, f["element"].strip())] = parse_codes(f["element"].strip(), f["description"])
    # Codes named without a meaning ("0 or 1", "KRX,NXT,SOR") borrow the most common meaning the guide gives the
    # same code of the same field in another TR.
    known: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for (api_id, name), (codes, _) in parsed.items():
        for code, meaning in codes.items():
            if meaning:
                known[(name, code)][meaning] += 1
    for (api_id, name), (codes, closed) in parsed.items():
        for code, meaning in codes.items():
            if not meaning and known[(name, code)]:
                counts = known[(name, code)]
                codes[code] = sorted(counts, key=lambda m: (-counts[m], m))[0]

    for entry in trs:
        meta = entry["meta"]
        api_id = meta["API ID"].strip()
        menu = [clean(p) for p in meta["메뉴 위치"].split(">")]
        market = MARKETS.get(menu[0], "")
        category = " > ".join(menu[1:-1]) if market else " > ".join(menu[:-1])
        request, response, lists = [], [], []
        for f in entry["request"]["body"]:
            name = f["element"].strip()
            codes, closed = parsed[(api_id, name)]
            length = int(f["length"]) if str(f["length"]).strip().isdigit() else None
            request.append([name, clean(f["한글명"]), f["required"].strip() == "Y", clean(f["type"]), length,
                            dict(codes) if closed else {}, {} if closed else dict(codes),
                            date_format(f["description"])])
        key = ""
        for f in entry["response"]["body"]:
            name = f["element"].strip()
            if f["depth"] == 0:
                key = name if f["type"] == "LIST" else ""
                if f["type"] == "LIST":
                    lists.append(name)
            length = int(f["length"]) if str(f["length"]).strip().isdigit() else None
            response.append([name, clean(f["한글명"]), key if f["depth"] else "", clean(f["type"]), length])
        table.append([api_id, meta["URL"].strip(), clean(meta["API 명"]), category, ",".join(lists), market])
        catalogue[api_id] = {"request": request, "response": response}
    return table, catalogue


# -- real-time types and their FIDs ---------------------------------------------------------------------------------

# Readable names where the TR catalogue has no answer field with the FID's Korean name, or where its match is
# wrong or collides within a type. Written here from the FID's Korean name in the guide (checked by hand).
FID_NAMES = {
    "9201": "acnt_no", "919": "rjct_rsn", "691": "ko_approach", "50073": "trde_tp_nm", "138": "netslmt_req",
    "902": "oso_qty", "26": "pred_trde_qty_pre", "30": "pred_trde_qty_pre_rt", "291": "exp_pric", "292": "exp_qty",
    "295": "exp_flu_rt",
    "200": "exp_pred_close_pre", "201": "exp_pred_close_flu_rt", "238": "exp_pred_close_pre_sig",
    "299": "exp_pred_trde_qty_rt", "990": "tdy_rlzt_pl", "991": "tdy_rlzt_pl_rt", "992": "crd_tdy_rlzt_pl",
    "993": "crd_tdy_rlzt_pl_rt", "29": "trde_prica_irds", "32": "trde_cost", "211": "netprps_qty_irds",
    "214": "mkt_open_remn_tm", "215": "mkt_op_tp", "216": "invsr_ticker", "251": "upl_stk_num",
    "253": "flat_stk_num", "254": "lst_stk_num", "267": "frgn_netprps_prsm_sum",
    "268": "frgn_netprps_prsm_sum_chang", "290": "session_tp", "297": "random_end", "592": "pre_mkt_random_end",
    "593": "post_mkt_random_end", "382": "mrgn_rt_disp", "567": "upl_occr_tm", "568": "lst_occr_tm",
    "620": "tdy_trde_avg_pric", "667": "elw_gear_rt", "669": "elw_cap_sup_pt", "672": "elw_delta",
    "673": "elw_gamma", "674": "elw_theta", "675": "elw_vega", "676": "elw_rho", "689": "elw_early_end",
    "706": "lp_bid_iv", "732": "cfd_trde_cost", "852": "stk_lend_trde_cost", "1497": "cfd_mrgn",
    "1498": "maint_mrgn", "843": "ins_del_tp", "851": "pred_same_tm_trde_qty_rt", "908": "ord_cntr_tm",
    "912": "ord_work_tp", "920": "scrn_no", "921": "term_no", "924": "extra_924", "951": "extra_951",
    "1279": "extra_1279", "933": "ord_alow_qty", "934": "tdy_sell_qty", "936": "tdy_buy_qty", "8075": "tax",
    "13006": "cmsn", "50724": "rlzt_pl_buy_amt", "50725": "exch_rlzt_pl_buy_amt", "50844": "exch_rlzt_pl_amt",
    "55190": "natn_cd", "945": "tdy_netprps_qty", "946": "slby_tp", "950": "tdy_tot_sel_pl",
    "959": "colt_loan_qty", "1030": "sel_cntr_qty", "1031": "buy_cntr_qty", "1071": "sel_cntr_cnt",
    "1072": "buy_cntr_cnt", "1313": "inst_trde_prica", "1314": "netprps_cntr_qty",
    "1315": "sel_cntr_qty_single", "1316": "buy_cntr_qty_single", "1211": "elw_prem", "1221": "vi_pric",
    "1236": "static_base_pric", "1237": "dynamic_base_pric", "1238": "static_dispty_rt",
    "1239": "dynamic_dispty_rt", "1489": "vi_flu_rt", "9068": "vimotn_tp", "9008": "mrkt_tp",
    "9075": "pre_mkt_tp", "9069": "vimotn_drc_tp", "1890": "open_pric_tm", "1891": "high_pric_tm",
    "1892": "low_pric_tm", "2136": "sor_yn", "9205": "mgr_emp_no", "50810": "stop_pric",
    "51020": "local_cntr_tm",
    # the core, pinned (each also what the catalogue's match gives today)
    "10": "cur_prc", "11": "pred_pre", "12": "flu_rt", "13": "acc_trde_qty", "14": "acc_trde_prica",
    "15": "trde_qty", "16": "open_pric", "17": "high_pric", "18": "low_pric", "20": "cntr_tm", "21": "bid_tm",
    "25": "pred_pre_sig", "27": "sel_bid", "28": "buy_bid", "302": "stk_nm", "9001": "stk_cd",
}
for _side in ("sel", "buy"):
    for _venue, _start in (("krx", 6044), ("nxt", 6066)):
        FID_NAMES[str(_start + 20 + (_side == "buy"))] = f"{_venue}_tot_{_side}_req"
    for _venue, _start in (("krx", 6100), ("nxt", 6105)):
        FID_NAMES[str(_start + (0 if _side == "sel" else 4))] = f"{_venue}_mid_{_side}_tot_req_irds"
        FID_NAMES[str(_start + (1 if _side == "sel" else 3))] = f"{_venue}_mid_{_side}_tot_req"
for _venue, _start in (("krx", 6100), ("nxt", 6105)):
    FID_NAMES[str(_start + 2)] = f"{_venue}_mid_pric"
for _venue, _start in (("krx", 6110), ("nxt", 6113)):
    FID_NAMES[str(_start)] = f"{_venue}_mid_pric_pre"
    FID_NAMES[str(_start + 1)] = f"{_venue}_mid_pric_pre_sig"
    FID_NAMES[str(_start + 2)] = f"{_venue}_mid_pric_flu_rt"

# Levelled FIDs (ten quote levels, five brokers' colours): first FID -> (name pattern, what its Korean name must hold).
LEVELS = {
    41: ("sel_bid_{n}", "매도", 10), 51: ("buy_bid_{n}", "매수", 10), 61: ("sel_req_{n}", "매도", 10),
    71: ("buy_req_{n}", "매수", 10), 81: ("sel_req_jub_pre_{n}", "매도", 10),
    91: ("buy_req_jub_pre_{n}", "매수", 10), 621: ("lp_sel_req_{n}", "LP매도", 10),
    631: ("lp_buy_req_{n}", "LP매수", 10), 6044: ("krx_sel_req_{n}", "KRX 매도", 10),
    6054: ("krx_buy_req_{n}", "KRX 매수", 10), 6066: ("nxt_sel_req_{n}", "NXT 매도", 10),
    6076: ("nxt_buy_req_{n}", "NXT 매수", 10), 271: ("sel_trde_ori_color_{n}", "매도거래원색깔", 5),
    281: ("buy_trde_ori_color_{n}", "매수거래원색깔", 5),
}
READABLE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def realtime_types(guide: dict) -> dict[str, dict]:
    """Every real-time type of the guide: code -> {name, market, fids: [(fid, korean)]}, sorted by code.

    The quote types have a page each (menu 실시간시세). The condition-search pushes (02, and S2 on the US path) are
    described inside the real-time condition request (ka10173, usa20290): their FIDs are that page's FID rows, or
    the keys of its real-time example where it has none, with the Korean names the guide gives the same FIDs.
    """
    types: dict[str, dict] = {}
    pushed = []
    for entry in guide["apis"].values():
        meta = entry["meta"]
        if "/websocket" not in meta["URL"]:
            continue
        menu = [clean(p) for p in meta["메뉴 위치"].split(">")]
        market = MARKETS[menu[0]]
        rows = [(f["element"].strip(), clean(f["한글명"])) for f in entry["response"]["body"] if f["depth"] == 2]
        if menu[1] == "실시간시세":
            types[meta["API ID"].strip()] = {"name": clean(meta["API 명"]), "market": market, "fids": rows}
            continue
        example = str(entry.get("response_example") or "")
        real = example[example.find("values"):] if "values" in example else ""  # the REAL push, after the answer
        found = re.search(r"""['"]type['"]\s*:\s*['"](\w{2})['"]""", real)
        if found is None:
            continue
        name = re.search(r"""['"]name['"]\s*:\s*['"]([^'"]+)['"]""", real)
        keys = list(dict.fromkeys(re.findall(r"""['"](\d+)['"]\s*:""", real)))
        pushed.append((found.group(1), clean(name.group(1)) if name else "", market, rows, keys))
    korean = {fid: k for t in types.values() for fid, k in t["fids"]}
    for code, name, market, rows, keys in pushed:
        korean.update(dict(rows))
    for code, name, market, rows, keys in pushed:
        fids = rows or [(fid, korean[fid]) for fid in keys]
        assert all(k for _, k in fids), code
        types.setdefault(code, {"name": name, "market": market, "fids": fids})
    return dict(sorted(types.items()))


def fid_names(types: dict[str, dict], catalogue: dict[str, dict]) -> dict[str, str]:
    """FID -> readable name (one per FID: a FID means the same in every type)."""
    answers: dict[str, Counter] = defaultdict(Counter)
    for tr in catalogue.values():
        for name, korean, *_ in tr["response"]:
            answers[korean.replace(" ", "")][name] += 1
    variants: dict[str, Counter] = defaultdict(Counter)
    for t in types.values():
        for fid, korean in t["fids"]:
            variants[fid][korean] += 1
    levels = {}
    for first, (pattern, holds, count) in LEVELS.items():
        for n in range(1, count + 1):
            levels[str(first + n - 1)] = (pattern.format(n=n), holds, str(n))
    names = {}
    for fid, counts in variants.items():
        korean = sorted(counts, key=lambda k: (-counts[k], k))[0]
        if fid in levels:
            name, holds, n = levels[fid]
            assert all(holds in k and n in k for k in counts), (fid, counts)
            names[fid] = name
            continue
        if fid in FID_NAMES:
            names[fid] = FID_NAMES[fid]
            continue
        bare = korean.replace(" ", "")
        for key in (bare, re.sub(r"\([^)]*\)", "", bare), re.sub(r"사용$", "", bare)):
            if answers.get(key):
                found = answers[key]
                names[fid] = sorted(found, key=lambda n: (-found[n], n))[0]
                break
        else:
            raise SystemExit(f"FID {fid} ({korean}) has no readable name: add it to FID_NAMES")
    for fid, name in names.items():
        assert READABLE.match(name) and not name.endswith("_dir"), (fid, name)
    for code, t in types.items():
        seen = Counter(names[fid] for fid, _ in t["fids"])
        doubled = [n for n, c in seen.items() if c > 1]
        assert not doubled, f"type {code}: {doubled} name two FIDs: add them to FID_NAMES"
    return names


def render_fids(guide: dict, catalogue: dict[str, dict], source: str, sha: str, retrieved: str) -> str:
    types = realtime_types(guide)
    names = fid_names(types, catalogue)
    counts = Counter(t["market"] for t in types.values())
    header = [
        "Generated by scripts/kiwoom-guide.py from Kiwoom's published REST API guide; do not edit by hand.",
        f"Source: {source}; guide sha256 {sha}; retrieved {retrieved}.",
        "Facts only (type codes, names, markets, FIDs and their Korean names); the readable names are kiwoom_nb's.",
        f"Real-time types: {counts['domestic']} domestic, {counts['us']} US.",
    ]
    lines = ["{", f'"about": {json.dumps(header, ensure_ascii=False)},', f'"format": {FIDS_FORMAT},',
             f'"guide_sha256": "{sha}",', '"fid": ["name", "korean"],', '"types": {']
    for i, (code, t) in enumerate(types.items()):
        body = {"name": t["name"], "market": t["market"], "fids": {fid: [names[fid], k] for fid, k in t["fids"]}}
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        lines.append(f'"{code}":{text}' + ("," if i < len(types) - 1 else ""))
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def header_lines(source: str, sha: str, retrieved: str, counts: Counter) -> list[str]:
    return [
        "Generated by scripts/kiwoom-guide.py from Kiwoom's published REST API guide; do not edit by hand.",
        f"Source: {source}; guide sha256 {sha}; retrieved {retrieved}.",
        "Facts only (ids, paths, names, categories, field names, flags, lengths, code lists); no Kiwoom text.",
        f"REST TRs: {counts['domestic']} domestic, {counts['us']} US, {counts['']} OAuth.",
    ]


def render(guide_bytes: bytes, source: str, retrieved: str) -> tuple[str, str, str]:
    guide = json.loads(guide_bytes.decode("utf-8"))
    sha = hashlib.sha256(guide_bytes).hexdigest()
    table, catalogue = build(guide)
    counts = Counter(row[5] for row in table)
    header = header_lines(source, sha, retrieved, counts)
    tsv = "".join(f"# {line}\n" for line in header)
    tsv += "api_id\tpath\tname\tcategory\tlist_keys\tmarket\n"
    for row in table:
        assert not any("\t" in c or "\n" in c for c in row), row
        tsv += "\t".join(row) + "\n"
    lines = ["{", f'"about": {json.dumps(header, ensure_ascii=False)},', f'"format": {FORMAT},',
             f'"guide_sha256": "{sha}",',
             '"request": ["name", "korean", "required", "type", "length", "codes", "examples", "format"],',
             '"response": ["name", "korean", "list_key", "type", "length"],',
             '"trs": {']
    ids = list(catalogue)
    for i, api_id in enumerate(ids):
        body = json.dumps(catalogue[api_id], ensure_ascii=False, separators=(",", ":"))
        lines.append(f'"{api_id}":{body}' + ("," if i < len(ids) - 1 else ""))
    lines += ["}", "}"]
    return tsv, "\n".join(lines) + "\n", render_fids(guide, catalogue, source, sha, retrieved)


def recorded(sha: str) -> str | None:
    """The retrieval day already recorded in trs.tsv for this same guide, if any."""
    if not TABLE.exists():
        return None
    head = TABLE.read_text("utf-8").split("\n", 4)[:4]
    for line in head:
        m = re.search(r"guide sha256 ([0-9a-f]{64}); retrieved (\d{4}-\d{2}-\d{2})", line)
        if m and m.group(1) == sha:
            return m.group(2)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", nargs="?", help="kiwoom_api_spec.json or a kwcli wheel (default: pip download)")
    parser.add_argument("--retrieved", help="the day the guide was retrieved (YYYY-MM-DD)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the files on disk differ")
    args = parser.parse_args(argv)
    data, source = read_source(args.source)
    sha = hashlib.sha256(data).hexdigest()
    retrieved = args.retrieved or recorded(sha) or datetime.date.today().isoformat()
    tsv, catalogue, fids = render(data, source, retrieved)
    if args.check:
        same = all(path.exists() and path.read_text("utf-8") == text
                   for path, text in ((TABLE, tsv), (CATALOGUE, catalogue), (FIDS, fids)))
        print("up to date" if same else "differs: run scripts/kiwoom-guide.py")
        return 0 if same else 1
    TABLE.write_text(tsv, "utf-8", newline="\n")
    CATALOGUE.write_text(catalogue, "utf-8", newline="\n")
    FIDS.write_text(fids, "utf-8", newline="\n")
    print(f"{TABLE.relative_to(ROOT)}: {tsv.count(chr(10)) - 5} TRs; "
          f"{CATALOGUE.relative_to(ROOT)}: {len(catalogue.encode())} bytes; "
          f"{FIDS.relative_to(ROOT)}: {len(fids.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
