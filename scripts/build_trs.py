"""Build kiwoom_nb/trs.tsv (package data) from the shared TR list: python scripts/build_trs.py [SOURCE].

Keeps api_id, path, name, category, list_keys; an unknown list key ("n/a ...") becomes empty.
"""

import csv
import sys
from pathlib import Path

source = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "kiwoom-trs.tsv")
target = Path(__file__).resolve().parents[1] / "kiwoom_nb" / "trs.tsv"
with open(source, encoding="utf-8", newline="") as f:
    rows = list(csv.DictReader(f, delimiter="\t"))
with open(target, "w", encoding="utf-8", newline="") as f:
    f.write("api_id\tpath\tname\tcategory\tlist_keys\n")
    for row in rows:
        keys = "" if row["list_keys"].startswith("n/a") else row["list_keys"].strip()
        f.write("\t".join((row["api_id"].strip(), row["path"].strip(), row["name"].strip(), row["category"].strip(), keys)) + "\n")
print(f"{target}: {len(rows)} TRs")
