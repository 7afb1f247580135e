"""The layering of CONTRIBUTING.md: only channels know Telegram; services know no handlers, jobs or channels."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package → module prefixes that nothing inside it may import
FORBIDDEN = {
    "bot/services": ("telegram", "handlers", "scheduler", "bot.channels", "bot.app", "bot.cli"),
    "handlers": ("telegram", "scheduler", "bot.channels", "bot.app", "bot.cli"),
    "scheduler": ("telegram", "handlers"),
}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_only_what_it_may(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    wrong = [f"{path.relative_to(ROOT)}: {module}" for path in files for module in sorted(imported_modules(path))
             if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN[package])]
    assert wrong == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import telegram.ext\nfrom bot.channels import telegram as tg\ndef f():\n    import scheduler\n")
    assert {"telegram.ext", "bot.channels", "bot.channels.telegram", "scheduler"} <= imported_modules(sample)
