"""Build kiwoom_nb/trs.tsv and kiwoom_nb/fields.json (package data) from Kiwoom's published REST API guide.

    python scripts/kiwoom-guide.py [SOURCE] [--retrieved YYYY-MM-DD] [--check]

SOURCE is Kiwoom's guide as data, ``kiwoom_api_spec.json``: the file itself, or a ``kwcli`` wheel (Kiwoom's own
package on PyPI, which ships it as ``kiwoom/_data/kiwoom_api_spec.json``; the same file lives at that path in the
GitHub repository Kiwoom-Securities/Kiwoom-REST-API). Without SOURCE the script fetches the pinned wheel
(KWCLI_VERSION below) with ``pip download`` into a temporary folder.

Facts only. Kiwoom's licence forbids redistributing its files and prose, so this script ships no Kiwoom file and
copies no description sentence. It takes api-ids, paths, Korean names, categories, field names, Korean field names,
required flags, types, lengths and the list keys, and reads the enumerated code lists out of the descriptions into
data ({code: short meaning}); everything else in a description is dropped.

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
TABLE = ROOT / "kiwoom_nb" / "trs.tsv"
CATALOGUE = ROOT / "kiwoom_nb" / "fields.json"
FORMAT = 1  # bump when the catalogue's layout changes (kiwoom_nb/_trs.py reads it)

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


def header_lines(source: str, sha: str, retrieved: str, counts: Counter) -> list[str]:
    return [
        "Generated by scripts/kiwoom-guide.py from Kiwoom's published REST API guide; do not edit by hand.",
        f"Source: {source}; guide sha256 {sha}; retrieved {retrieved}.",
        "Facts only (ids, paths, names, categories, field names, flags, lengths, code lists); no Kiwoom text.",
        f"REST TRs: {counts['domestic']} domestic, {counts['us']} US, {counts['']} OAuth.",
    ]


def render(guide_bytes: bytes, source: str, retrieved: str) -> tuple[str, str]:
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
    return tsv, "\n".join(lines) + "\n"


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
    tsv, catalogue = render(data, source, retrieved)
    if args.check:
        same = TABLE.read_text("utf-8") == tsv and CATALOGUE.read_text("utf-8") == catalogue
        print("up to date" if same else "differs: run scripts/kiwoom-guide.py")
        return 0 if same else 1
    TABLE.write_text(tsv, "utf-8", newline="\n")
    CATALOGUE.write_text(catalogue, "utf-8", newline="\n")
    print(f"{TABLE.relative_to(ROOT)}: {tsv.count(chr(10)) - 5} TRs; "
          f"{CATALOGUE.relative_to(ROOT)}: {len(catalogue.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
