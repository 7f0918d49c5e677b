"""pyproject.toml (ranges), environment.yml (conda) and constraints.txt (the tested pins) must agree,
and the Makefile and CI must install the pins."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from conftest import load_tool
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
#: Where the pins apply: the machine `make setup` and CI run on.
PIN_PLATFORM = {"platform_machine": "x86_64", "sys_platform": "linux", "platform_system": "Linux"}


pins_tool = load_tool("pins")


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]]


def conda_pip_section() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def requirement_key(req: str) -> tuple[str, str]:
    """('decord', '>=0.6') from 'decord>=0.6; platform_machine == ...' (markers dropped)."""
    req = req.split(";")[0].strip()
    name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", req).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_and_pyproject_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | {r for extra in project["optional-dependencies"].values() for r in extra}
    pyproject = dict(requirement_key(r) for r in wanted)
    pip_section = conda_pip_section()
    conda = dict(requirement_key(r) for r in pip_section if not r.startswith("-"))
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


def test_pins_are_exact_and_satisfy_pyproject_ranges():
    pins, python = pins_tool.read_pins()  # raises on anything but `name==version`, or a name pinned twice
    environment = {**PIN_PLATFORM, "python_version": python, "python_full_version": f"{python}.0"}
    unpinned, outside = [], []
    for req in project_requirements():
        if req.marker is not None and not req.marker.evaluate(environment):
            continue
        name = pins_tool.canonical(req.name)
        if name not in pins:
            unpinned.append(str(req))
        elif not req.specifier.contains(pins[name], prereleases=True):
            outside.append(f"{name}=={pins[name]} is outside pyproject's {req}")
    assert not unpinned, f"pyproject requirements without a pin: {unpinned} (run `make pins`)"
    assert not outside, outside


def test_environment_yml_installs_the_pins_for_their_python():
    pip_section = conda_pip_section()
    assert "-c constraints.txt" in pip_section, "environment.yml's pip section must use the pins (-c constraints.txt)"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_python = next(d for d in env["dependencies"] if isinstance(d, str) and re.match(r"python[=<>]", d))
    _, pins_python = pins_tool.read_pins()
    assert conda_python == f"python={pins_python}", f"environment.yml has {conda_python}; the pins are for Python {pins_python}"


def test_make_setup_installs_through_the_pins():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PINS\s*:=\s*constraints\.txt$", makefile, re.M)
    assert re.search(r"^PIP_INSTALL\s*:=.*--constraint \$\(PINS\)", makefile, re.M)
    bare = [line.strip() for line in makefile.splitlines()
            if re.search(r"pip\b.*\binstall\b", line) and not line.startswith("PIP_INSTALL")]
    assert not bare, f"pip installs that bypass the pins: {bare}"
    assert len(re.findall(r"^\t\$\(PIP_INSTALL\) ", makefile, re.M)) >= 2  # pip itself, then the project
    assert re.search(r"^\$\(STAMP\):.*\$\(PINS\)", makefile, re.M), "a change of the pins must reinstall"
    assert re.search(r"^setup:.*\bversions\b", makefile, re.M), "make setup must print the installed versions"
    assert re.search(r"^pins:", makefile, re.M) and "make pins" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("installed, pinned, same", [("2.14.1+cu130", "2.14.1", True), ("2.14.1", "2.14.1", True),
                                                     ("2.14.0", "2.14.1", False), ("2.14.10", "2.14.1", False)])
def test_an_install_is_compared_to_the_pins_by_version(installed, pinned, same):
    assert pins_tool.same_version(installed, pinned) is same


def test_check_names_every_package_that_differs():
    errors, notes = pins_tool.compare({"torch": "2.14.1", "numpy": "2.4.6", "decord": "0.6.0"},
                                      {"torch": "2.14.1+cu130", "numpy": "2.3.0"})
    assert errors == ["numpy 2.3.0 is installed, the pin is 2.4.6"]
    assert notes == ["decord==0.6.0 is pinned but not installed"]


def test_malformed_pins_are_refused(tmp_path):
    for text, error in [("# python: 3.11\ntorch>=2.3\n", "not an exact pin"),
                        ("# python: 3.11\ntorch==2.14.1\nTorch==2.14.1\n", "pinned twice"),
                        ("torch==2.14.1\n", "which Python")]:
        (tmp_path / "constraints.txt").write_text(text)
        with pytest.raises(ValueError, match=error):
            pins_tool.read_pins(tmp_path / "constraints.txt")
