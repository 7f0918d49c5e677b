"""The book's chapters and its table of contents follow the house rules.

Every ``notebooks/*.md`` chapter must

* be a jupytext MyST notebook (``format_name: myst``) with the ``python3`` kernelspec,
* be listed in ``_toc.yml``, in the part and order of the plan below,
* say which part of the paper it covers: a "Paper coverage" note that names sections,
  figures, tables, equations or appendices (``Sec. 3.2``, ``Fig. 4``, ``Table 6``, ``Eq. (9)``),
* have an "Exercises" section,
* import from the ``tcclip`` package (chapters show the package, they do not re-type it).

``_toc.yml`` lists exactly the planned pages that exist. After adding a page, regenerate it:

    python tests/test_notebooks_format.py --write-toc
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml  # PyYAML, a dependency of jupytext

ROOT = Path(__file__).resolve().parent.parent
TOC = ROOT / "_toc.yml"
CONFIG = ROOT / "_config.yml"
BIB = ROOT / "book" / "references.bib"

ROOT_PAGE = "book/intro"
#: The planned table of contents: (part caption, pages), pages without their suffix.
PLAN: list[tuple[str, list[str]]] = [
    (
        "Foundations",
        [
            "notebooks/00_preface",
            "notebooks/01_videos_as_tensors",
            "notebooks/02_clip_in_one_chapter",
            "notebooks/03_images_to_videos",
        ],
    ),
    (
        "TC-CLIP piece by piece",
        [
            "notebooks/04_token_selection",
            "notebooks/05_bipartite_merging",
            "notebooks/06_tc_block",
            "notebooks/07_video_conditional_prompting",
            "notebooks/08_objective_and_training_step",
        ],
    ),
    (
        "Experiments",
        [
            "notebooks/09_protocols_and_evaluation",
            "notebooks/10_experiments_in_miniature",
            "notebooks/11_reproducing_at_scale",
        ],
    ),
    (
        "Appendix",
        [
            "notebooks/12_appendix_performance",
            "book/training",
            "book/datasets",
            "book/data_scripts",
            "book/synthetic_world",
            "book/notation",
            "book/bibliography",
        ],
    ),
]
PLANNED = [page for _, pages in PLAN for page in pages]


def page_exists(page: str, root: Path = ROOT) -> bool:
    return any((root / f"{page}{ext}").is_file() for ext in (".md", ".ipynb"))


def render_toc(root: Path = ROOT) -> str:
    """The _toc.yml text for the planned pages that exist under ``root``."""
    lines = [
        "# Table of contents of the TC-CLIP book (jb-book format).",
        "# Generated from the plan in tests/test_notebooks_format.py: after adding a chapter, run",
        "#   python tests/test_notebooks_format.py --write-toc",
        "# Only pages that exist are listed; the planned chapters are:",
    ]
    for caption, pages in PLAN:
        lines.append(f"#   {caption}: " + ", ".join(p.split("/")[-1] for p in pages))
    lines += ["format: jb-book", f"root: {ROOT_PAGE}", "parts:"]
    for caption, pages in PLAN:
        present = [p for p in pages if page_exists(p, root)]
        if not present:
            continue
        lines.append(f'  - caption: "{caption}"')
        lines.append("    chapters:")
        lines += [f"      - file: {p}" for p in present]
    return "\n".join(lines) + "\n"


def toc_parts() -> list[tuple[str, list[str]]]:
    toc = yaml.safe_load(TOC.read_text(encoding="utf-8"))
    parts = []
    for part in toc.get("parts", []):
        files = []
        for chapter in part.get("chapters", []):
            files.append(re.sub(r"\.(md|ipynb)$", "", chapter["file"]))
            for section in chapter.get("sections", []) or []:
                files.append(re.sub(r"\.(md|ipynb)$", "", section["file"]))
        parts.append((part["caption"], files))
    return parts


def toc_files() -> list[str]:
    return [f for _, files in toc_parts() for f in files]


CHAPTERS = sorted((ROOT / "notebooks").glob("*.md"))


# --------------------------------------------------------------------------------------
# The table of contents
# --------------------------------------------------------------------------------------


def test_toc_format_and_root():
    toc = yaml.safe_load(TOC.read_text(encoding="utf-8"))
    assert toc["format"] == "jb-book"
    assert toc["root"] == ROOT_PAGE
    assert page_exists(ROOT_PAGE)


def test_toc_follows_the_plan():
    plan = dict(PLAN)
    captions = [c for c, _ in PLAN]
    seen_captions = [c for c, _ in toc_parts()]
    assert seen_captions == [c for c in captions if c in seen_captions], "parts out of order"
    for caption, files in toc_parts():
        assert caption in plan, f"part {caption!r} is not in the plan ({captions})"
        order = plan[caption]
        for f in files:
            assert f in order, f"{f} is listed under {caption!r} but planned elsewhere or not at all"
        assert files == sorted(files, key=order.index), f"pages of {caption!r} out of planned order"


def test_toc_lists_only_existing_pages():
    missing = [f for f in toc_files() if not page_exists(f)]
    assert not missing, f"_toc.yml lists pages that do not exist: {missing}"


def test_every_existing_planned_page_is_in_the_toc():
    listed = set(toc_files())
    absent = [p for p in PLANNED if page_exists(p) and p not in listed]
    assert not absent, (
        f"pages exist but are not in _toc.yml: {absent}; run python tests/test_notebooks_format.py --write-toc"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_planned_and_in_toc(path):
    page = f"notebooks/{path.stem}"
    assert page in PLANNED, f"{page} is not in the plan (PLAN in tests/test_notebooks_format.py)"
    assert page in toc_files(), f"{page} is missing from _toc.yml"


def test_generated_toc_is_current():
    assert yaml.safe_load(render_toc()) == yaml.safe_load(TOC.read_text(encoding="utf-8")), (
        "_toc.yml differs from the plan; run python tests/test_notebooks_format.py --write-toc"
    )


# --------------------------------------------------------------------------------------
# Each chapter
# --------------------------------------------------------------------------------------

PAPER_REF = re.compile(
    r"\b(Sec(tion)?s?\.?\s*\d|Fig(ure)?s?\.?\s*\d|Tables?\s*\d|Eqs?\.?\s*\(?\d|Appendix\s*0?\.?[A-F\d])"
)
TCCLIP_IMPORT = re.compile(r"^\s*(from\s+tcclip(\.\w+)*\s+import\s|import\s+tcclip\b)", re.M)
EXERCISES = re.compile(r"^#{1,3}\s+Exercises\s*$", re.M)


@pytest.fixture(scope="module")
def jupytext():
    return pytest.importorskip("jupytext")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_myst_notebook_with_python3_kernel(path, jupytext):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), "a chapter starts with the jupytext YAML header"
    header = yaml.safe_load(text.split("---\n", 2)[1])
    assert header["jupytext"]["text_representation"]["format_name"] == "myst"
    assert header["kernelspec"]["name"] == "python3"
    assert header["kernelspec"]["language"] == "python"
    nb = jupytext.read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a chapter has code cells ({code-cell} ipython3)"
    assert not re.search(r"^```\{code-cell\}\s*$", text, re.M), "write {code-cell} ipython3"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_declares_paper_coverage(path):
    text = path.read_text(encoding="utf-8")
    assert re.search(r"paper coverage", text, re.I), (
        'add a note titled "Paper coverage" that names the sections/figures/tables covered, e.g.\n'
        ":::{admonition} Paper coverage\n:class: note\nSec. 3.2.1, Eq. (7), Table 6(a).\n:::"
    )
    assert PAPER_REF.search(text), "name at least one section, figure, table, equation or appendix"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_exercises(path):
    assert EXERCISES.search(path.read_text(encoding="utf-8")), 'add a "## Exercises" section'


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_imports_tcclip(path, jupytext):
    nb = jupytext.read(path)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert TCCLIP_IMPORT.search(code), "a chapter imports what it shows from the tcclip package"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_no_own_bibliography(path):
    assert "{bibliography}" not in path.read_text(encoding="utf-8"), (
        "cite with {cite}`key`; the references are listed once, on book/bibliography.md"
    )


# --------------------------------------------------------------------------------------
# Citations and configuration
# --------------------------------------------------------------------------------------

CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def test_citations_resolve():
    keys = set(re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), re.M))
    assert "kim2024tcclip" in keys
    pages = [*CHAPTERS, *(ROOT / "book").glob("*.md")]
    unknown = {}
    for page in pages:
        text = re.sub(r"``.+?``", "", page.read_text(encoding="utf-8"))  # literal examples
        for group in CITE.findall(text):
            for key in (k.strip() for k in group.split(",")):
                if key not in keys:
                    unknown.setdefault(page.name, []).append(key)
    assert not unknown, f"citation keys missing from book/references.bib: {unknown}"


def test_bib_keys_unique():
    keys = re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), re.M)
    assert len(keys) == len(set(keys))


def test_config_executes_strictly():
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert config["only_build_toc_files"] is True
    execute = config["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert execute["allow_errors"] is False
    assert execute["timeout"] >= 60
    assert "notebooks/*.ipynb" in config["exclude_patterns"]
    assert "book/references.bib" in config["bibtex_bibfiles"]


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-toc"]:
        TOC.write_text(render_toc(), encoding="utf-8")
        print(f"wrote {TOC}")
    else:
        sys.stdout.write(render_toc())
