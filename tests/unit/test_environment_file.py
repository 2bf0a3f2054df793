"""environment.yml (conda) must ask for what pyproject.toml asks for, with the same lower bounds."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [req for extra in project["optional-dependencies"].values() for req in extra]
    requirements = {}
    for spec in specs:
        requirement = Requirement(spec)
        requirements[requirement.name] = str(requirement.specifier)
    requirements["python"] = project["requires-python"]
    return requirements


def conda_requirements() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    requirements = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, str) and entry != "pip":
            requirement = Requirement(entry)
            requirements[requirement.name] = str(requirement.specifier)
    return requirements


def test_environment_yml_matches_pyproject():
    assert conda_requirements() == pyproject_requirements()


def test_environment_yml_installs_the_package_itself():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict))
    assert "--no-deps -e ." in pip_section
