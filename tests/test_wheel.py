"""Installed as users install it: build the sdist and the wheel, install the wheel into a fresh venv, use it.

The build starts from a copy of the files a commit would hold (not the working tree), the wheel is built
from the sdist (as pip and packagers do), and the venv gets the wheel, not an editable install. Package
files are compared with the source tree itself, so new package data (the TR table) is checked by itself.
"""

from __future__ import annotations

import ast
import email
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib.metadata import distributions
from pathlib import Path

import pytest

from support import CANARY, wait_for

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"__pycache__", ".ipynb_checkpoints"}


def source_files() -> list[str]:
    """The files a commit would hold: tracked plus untracked-not-ignored (a plain walk in an unpacked sdist)."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                             capture_output=True, check=True).stdout.decode()
        return sorted(p for p in out.split("\0") if p and (ROOT / p).is_file())
    files = (p.relative_to(ROOT) for p in ROOT.rglob("*") if p.is_file())
    return sorted(str(p) for p in files if not p.parts[0].startswith((".", "build", "dist"))
                  and not set(p.parts) & SKIP and not any(part.endswith(".egg-info") for part in p.parts))


def package_files() -> list[str]:
    """Every file of kiwoom_nb/ in the source tree: modules and package data alike."""
    return [p for p in source_files() if p.startswith("kiwoom_nb/") and not set(Path(p).parts) & SKIP]


def version() -> str:
    """kiwoom_nb.__version__, read as setuptools reads it (statically)."""
    tree = ast.parse((ROOT / "kiwoom_nb" / "__init__.py").read_text("utf-8"))
    return next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == "__version__" for t in node.targets))


def run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("build")
    src = work / "src"
    for name in source_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    run(sys.executable, "-m", "build", "--outdir", work / "dist", src)  # the sdist, then the wheel from it
    found = {p.suffix: p for p in (work / "dist").iterdir()}
    assert set(found) == {".gz", ".whl"}, found
    return {"sdist": found[".gz"], "wheel": found[".whl"]}


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh venv with the wheel and ipykernel, at the versions this test run itself uses."""
    where = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", where / "venv")
    pins = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in distributions()}
    pins.pop("kiwoom-nb", None)
    (where / "constraints.txt").write_text("".join(f"{name}=={v}\n" for name, v in sorted(pins.items())))
    python = where / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "-c", where / "constraints.txt", dist["wheel"], "ipykernel")
    return where / "venv"


def test_twine_check_passes_on_both(dist):
    result = run(sys.executable, "-m", "twine", "check", "--strict", dist["sdist"], dist["wheel"])
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_wheel_holds_the_package_its_license_and_nothing_else(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = set(wheel.namelist())
        info = f"kiwoom_nb-{version()}.dist-info"
        assert "kiwoom_nb/py.typed" in package_files()  # users' type checkers read the annotations
        assert {"kiwoom_nb/data/trs.tsv", "kiwoom_nb/data/fields.json", "kiwoom_nb/data/fids.json", "kiwoom_nb/data/observed.json"} <= names
        for name in package_files():
            assert wheel.read(name) == (ROOT / name).read_bytes(), name
        assert {n.split("/")[0] for n in names} == {"kiwoom_nb", info}
        assert names - set(package_files()) - {n for n in names if n.startswith(info + "/")} == set()
        assert wheel.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
    assert metadata["Name"] == "kiwoom-nb" and metadata["Version"] == version()
    assert metadata["License-Expression"] == "MIT" and metadata["License-File"] == "LICENSE"
    assert metadata["Requires-Python"] == ">=3.10"


def test_the_sdist_holds_what_a_user_or_packager_needs(dist):
    with tarfile.open(dist["sdist"]) as sdist:
        top = f"kiwoom_nb-{version()}/"
        names = {m.name.removeprefix(top) for m in sdist.getmembers() if m.isfile()}
    wanted = [p for p in source_files() if p.startswith(("kiwoom_nb/", "tests/", "notebooks/"))
              and not set(Path(p).parts) & SKIP]
    wanted += [p for p in source_files() if "/" not in p and (p.endswith(".md") or p in ("LICENSE", "pyproject.toml"))]
    # the pages README.md links to, so the README of an unpacked sdist leads somewhere; drafts stay out
    pages = [p for p in source_files() if p.startswith("docs/") and p.endswith(".md")]
    wanted += [p for p in pages if not p.startswith("docs/notes/")]
    assert {"LICENSE", "README.md", "pyproject.toml", "docs/install.md", "docs/ko/install.md"} <= set(wanted)
    assert sorted(set(wanted) - names) == []
    assert not [n for n in names if n.startswith("docs/notes/")]


def test_the_installed_wheel_is_a_real_install(venv):
    python = venv / "bin" / "python"
    shown = run(python, "-c", "import json, pathlib, importlib.metadata as m, kiwoom_nb\n"
                "d = m.distribution('kiwoom-nb')\n"
                "print(json.dumps([str(pathlib.Path(kiwoom_nb.__file__).parent), kiwoom_nb.__version__, d.version,"
                " d.read_text('direct_url.json')]))", cwd=venv).stdout
    where, module_version, dist_version, direct_url = json.loads(shown)
    assert Path(where).is_relative_to(venv) and "site-packages" in where
    labels = run(python, "-c", "from kiwoom_nb.rest._frame import labels_of; from kiwoom_nb.live import _fids\n"
                 "print(labels_of('ka10080')['acc_trde_qty'], _fids.korean('F4')['8046'])", cwd=venv).stdout
    assert labels.split() == ["누적거래량", "거래소코드"]  # observed.json, read from the installed package
    assert module_version == dist_version == version()
    assert direct_url is None or not json.loads(direct_url).get("dir_info", {}).get("editable")
    for name in package_files():
        assert (Path(where) / Path(name).relative_to("kiwoom_nb")).read_bytes() == (ROOT / name).read_bytes(), name
    helped = run(venv / "bin" / "python", "-m", "kiwoom_nb.testing", "--help", cwd=venv)
    assert helped.stdout.startswith("usage: python -m kiwoom_nb.testing") and "--port" in helped.stdout


def test_a_kernel_of_the_installed_wheel_loads_it_and_logs_in(venv, start_kernel, kernel_env, fake, tmp_path):
    spec = tmp_path / "kernels" / "kiwoom-wheel"
    spec.mkdir(parents=True)
    python = str(venv / "bin" / "python")
    (spec / "kernel.json").write_text(json.dumps({"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                                  "display_name": "kiwoom-nb wheel", "language": "python"}))
    env = {k: v for k, v in kernel_env.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    kernel = start_kernel(env=env, kernel_dir=spec, cwd=tmp_path)  # not the checkout: its kiwoom_nb/ stays out
    where = kernel.ok("import sys, kiwoom_nb\nprint(sys.executable)\nprint(kiwoom_nb.__file__)").stdout.split()
    assert where[0] == python and Path(where[1]).is_relative_to(venv)

    shown = kernel.ok("%load_ext kiwoom_nb\n%kiwoom_login")
    assert "logged in as kiwoom_token" in shown.stdout, (shown.stdout, shown.stderr, shown.error)
    assert [i.body["appkey"] for i in fake.issues] == [CANARY["production"][0]]
    token = fake.live_tokens()[0]
    kernel.shutdown()
    wait_for(lambda: fake.revokes, 10, "the revoke at shutdown")
    assert [r.body["token"] for r in fake.revokes] == [token]
