"""Tab in a %kiwoom line in JupyterLab 4 (issue 20, item 4): the completer lists the TR's fields, each with its
Korean name on the right (the kernel's completion type)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import DOCS, REPO, WRITE_DOCS, Notebook, keep_evidence, write_notebook


def unseen(text: str) -> str:
    """``text`` as read: without the word joiners that keep a name on one line, no-break spaces as spaces."""
    return text.replace("\u2060", "").replace("\u00a0", " ")


@pytest.fixture
def notebook(lab_server, page, request):
    name = re.sub(r"[^\w.-]", "_", request.node.name) + ".ipynb"
    write_notebook(lab_server.root, name, ["%load_ext kiwoom_nb", ""])
    yield Notebook(page, lab_server, name).open()
    keep_evidence(page, request)
    page.close()
    lab_server.shutdown_kernels()


def test_lab_tab_lists_the_fields_of_the_tr_with_their_korean_names(notebook, page):
    notebook.run(0)
    notebook.cell(1).locator(".jp-InputArea-editor").click()
    page.keyboard.type("%kiwoom ka10081 ")
    page.keyboard.press("Tab")

    completer = page.locator(".jp-Completer")
    expect(completer).to_be_visible()
    # the kernel's items come first, in its order; JupyterLab adds the words of the cell after them (%, kiwoom, …)
    kernel_items = completer.locator(".jp-Completer-item").filter(
        has=page.locator(".jp-Completer-typeExtended:not(:empty)"))
    expect(kernel_items.locator(".jp-Completer-match")).to_have_text(["stk_cd=", "base_dt=", "upd_stkpc_tp="])
    expect(completer.locator(".jp-Completer-item").first).to_contain_text("stk_cd=")
    names = kernel_items.locator(".jp-Completer-typeExtended")
    assert [unseen(text) for text in names.all_inner_texts()] == ["종목코드 (필수)", "기준일자 (필수)",
                                                                 "수정주가구분 (필수)"]
    # each name on one line, inside the popup: neither broken between syllables nor spilling over the next item
    assert names.evaluate_all("""names => names.map(name => name.scrollHeight <= name.clientHeight
        && name.getBoundingClientRect().right <= name.closest(".jp-Completer").getBoundingClientRect().right)""") \
        == [True] * 3

    # the cell and the popup under it, to look at: docs/ when asked to (KIWOOM_NB_SCREENSHOTS=1), else test-results/
    folder = DOCS if WRITE_DOCS else REPO / "test-results"
    folder.mkdir(exist_ok=True)
    cell, popup = notebook.cell(1).bounding_box(), completer.bounding_box()
    left, top = min(cell["x"], popup["x"]), min(cell["y"], popup["y"])
    right = max(cell["x"] + cell["width"], popup["x"] + popup["width"])
    bottom = max(cell["y"] + cell["height"], popup["y"] + popup["height"])
    page.screenshot(path=str(folder / "complete-fields.png"), animations="disabled",
                    clip={"x": left, "y": top, "width": right - left, "height": bottom - top + 8})

    page.keyboard.press("Enter")  # takes the first: stk_cd=
    expect(notebook.cell(1).locator(".jp-InputArea-editor")).to_have_text("%kiwoom ka10081 stk_cd=")
