"""The demo shop (crmctl/demo: sample data and its loaders) stays apart from production
code: no module under services/ imports it (nor crmctl, tests or bench, through which it
would come along), no demo module or sample data is left under services/, and the wheel
the images install leaves it out (tests/deploy/test_images.py checks the built images)."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
DEMO = ROOT / "crmctl" / "demo"
# Development code that production modules must not import.
NOT_FOR_PRODUCTION = ("crmctl", "tests", "bench")


def imports_in(source: str, package: str) -> set[str]:
    """Every module an `import` or `from ... import` names in the source, at any depth
    (inside functions too); relative imports resolved against `package`."""
    parts = package.split(".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_no_service_module_imports_the_demo_or_development_code() -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in SERVICES.rglob("*.py")
        for module in imports_in(
            path.read_text(encoding="utf-8"), ".".join(path.relative_to(ROOT).parent.parts)
        )
        if module.split(".")[0] in NOT_FOR_PRODUCTION
    )
    assert not offenders, f"production code importing development code: {offenders}"


def test_the_import_check_sees_relative_and_nested_imports() -> None:
    source = "from .. import common\nimport json\ndef f():\n    from crmctl.demo import product\n"
    found = imports_in(source, "services.orchestrator")
    assert {"services.common", "json", "crmctl.demo", "crmctl.demo.product"} <= found


def test_no_demo_module_or_sample_data_under_services() -> None:
    samples = {p.name for p in (DEMO / "data").glob("*.csv")}
    assert samples, "the demo's sample data is in crmctl/demo/data"
    left = sorted(
        str(p.relative_to(ROOT))
        for p in SERVICES.rglob("*")
        if p.name == "demo.py" or p.name in samples
    )
    assert not left, f"demo code or sample data among the production modules: {left}"


def test_the_wheel_leaves_the_demo_package_out() -> None:
    """setuptools' package discovery (fnmatch on dotted names, exclude wins) with the
    pyproject's patterns: the demo package and its data folder are not packaged."""
    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = found["packages"]["find"]

    def packaged(name: str) -> bool:
        def matches(key: str) -> bool:
            return any(fnmatch.fnmatchcase(name, p) for p in patterns.get(key, []))

        return matches("include") and not matches("exclude")

    assert packaged("crmctl") and packaged("services.orchestrator")
    for name in ("crmctl.demo", "crmctl.demo.data"):
        assert not packaged(name), f"{name} would be in the wheel"
