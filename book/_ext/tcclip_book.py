"""Small Sphinx fixes for the TC-CLIP book (loaded from _config.yml, sphinx.local_extensions).

1. An ".ipynb" entry in every chapter's download menu. sphinx-book-theme only offers the
   executed notebook of a MyST-markdown chapter when a launch service (Binder, Colab...) is
   configured; here the executed notebook that MyST-NB wrote to
   ``_build/jupyter_execute/<page>.ipynb`` is always copied to ``_build/html/_sources/`` and
   the theme's download menu links to it.
2. No duplicate inline scripts. With Jupyter Book 1.x, sphinx-thebe's inline configuration
   (``const THEBE_JS_URL = ...``) can be registered twice; a second ``const`` declaration is a
   JavaScript SyntaxError on every page. Identical script entries are dropped.
"""

from __future__ import annotations

from pathlib import Path
from shutil import copy2


def _add_ipynb_download(app, pagename, templatename, context, doctree):
    if app.builder.format != "html" or doctree is None:
        return
    if "kernelspec" not in app.env.metadata.get(pagename, {}):
        return  # not a notebook
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _script_key(js) -> tuple:
    filename = getattr(js, "filename", None)
    attributes = getattr(js, "attributes", None)
    if filename is None and attributes is None:
        return (str(js),)
    # an inline script is registered with filename None by one extension and "" by another
    return (filename or None, tuple(sorted((str(k), str(v)) for k, v in (attributes or {}).items())))


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = _script_key(js)
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app):
    # before sphinx-book-theme builds its header buttons (priority 501)
    app.connect("html-page-context", _add_ipynb_download, priority=400)
    app.connect("html-page-context", _dedupe_scripts, priority=450)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
