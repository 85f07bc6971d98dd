"""Docs stay true: every environment variable the settings read is in the README's table."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_variable_is_documented_in_the_readme():
    settings_src = (ROOT / "loyalty" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings_src))
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, flags=re.M))
    assert read, "no variables found: the pattern is out of date"
    assert read - documented == set()


def test_readme_and_docs_link_only_to_files_in_the_repository():
    # e.g. `../shared/DESIGN.md` pointed outside the repository: a reader of the project has no such
    # file. Markdown links and `path` mentions of .md files must resolve inside ROOT.
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        text = page.read_text()
        targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
        targets += re.findall(r"`(\.\./[^`]+)`", text)
        for target in targets:
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            resolved = (page.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert broken == []


def test_docs_say_no_coming_soon_for_features_that_exist():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text()
        assert '"coming soon"' not in text.replace("เร็ว ๆ นี้ (coming soon)", ""), page.name
