"""environment.yml (conda, for users) and pyproject.toml (pip, for the Makefile) must agree."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def requirement_key(req: str) -> tuple[str, str]:
    """('decord', '>=0.6') from 'decord>=0.6; platform_machine == ...' (markers dropped)."""
    req = req.split(";")[0].strip()
    name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", req).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_and_pyproject_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | {r for extra in project["optional-dependencies"].values() for r in extra}
    pyproject = dict(requirement_key(r) for r in wanted)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = dict(requirement_key(r) for r in pip_section if not r.startswith("-e"))
    assert conda == pyproject, (
        f"only in pyproject: {sorted(set(pyproject.items()) - set(conda.items()))}; "
        f"only in environment.yml: {sorted(set(conda.items()) - set(pyproject.items()))}"
    )
    assert any(r.startswith("-e .") for r in pip_section), "environment.yml must install the package itself"


def test_makefile_and_ci_run_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test:", makefile, re.M) and re.search(r"^book:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
