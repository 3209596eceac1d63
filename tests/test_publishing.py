"""The workflow that publishes the book: valid for GitHub Actions, building with the pinned setup."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from notebook_utils import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def _lint(path: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or "check-jsonschema"
    return subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_workflow_is_valid_for_github_actions():
    result = _lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  build:\n    steps:\n      - run: make book\n")  # no runs-on
    assert _lint(broken).returncode != 0


def test_workflow_builds_with_make_book_and_deploys_the_html():
    flow = yaml.safe_load(WORKFLOW.read_text())
    build = flow["jobs"]["build"]["steps"]
    assert any(step.get("run") == "make book" for step in build)
    upload = [s for s in build if str(s.get("uses", "")).startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    assert any(str(s.get("uses", "")).startswith("actions/deploy-pages") for s in flow["jobs"]["deploy"]["steps"])


def test_site_address_is_written_in_one_place():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["html"]["baseurl"]
    assert url.startswith("https://") and url.endswith("/")
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    holders = [f for f in tracked if not f.endswith((".ipynb", ".png")) and (ROOT / f).is_file()
               and url.rstrip("/") in (ROOT / f).read_text(errors="ignore")]
    # course_lib is installed without the book's config (Colab), so the doctor's links carry one
    # copy of the address; this test keeps it equal to the config's
    assert holders == ["_config.yml", "course_lib/doctor.py"], holders
    import course_lib as cl

    assert cl.doctor.BOOK_URL == url


def test_workflow_tags_the_library_version():
    import re

    flow = yaml.safe_load(WORKFLOW.read_text())
    script = "\n".join(s.get("run", "") for s in flow["jobs"]["tag"]["steps"])
    pattern = re.search(r"sed -n '(.*)' course_lib/__init__.py", script).group(1)
    version = subprocess.run(["sed", "-n", pattern, "course_lib/__init__.py"], capture_output=True, text=True,
                             cwd=ROOT).stdout.strip()
    import course_lib

    assert version == course_lib.__version__
    assert "git push origin" in script and flow["permissions"]["contents"] == "write"


def test_student_versions_are_published_and_linked_from_every_chapter():
    """make book writes the student notebooks into the site; the workflow pushes them to the students
    branch (Colab opens GitHub files only); every chapter links both."""
    import json

    from notebook_utils import NOTEBOOKS

    assert "tools/make_student_notebooks.py --out _build/html/student" in (ROOT / "Makefile").read_text()
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["build"]["steps"]
    push = [s for s in steps if "git push -f origin HEAD:students" in s.get("run", "")]
    assert push and "_build/html/student/*.ipynb" in push[0]["run"]
    names = [s.get("run") or s.get("uses") for s in steps]
    assert names.index("make book") < names.index(push[0]["run"])
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    site, repo = config["html"]["baseurl"].rstrip("/"), config["repository"]["url"].split("github.com/")[1]
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text())["cells"]
        links = [c for c in cells if "student-links" in c["metadata"].get("tags", [])]
        assert len(links) == 1, nb.name
        text = "".join(links[0]["source"])
        assert f"{site}/student/{nb.name}" in text
        assert f"colab.research.google.com/github/{repo}/blob/students/{nb.name}" in text


def test_workflow_publishes_the_pdf_beside_the_site_and_the_preface_links_it():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["build"]["steps"]
    runs = [s.get("run", "") for s in steps]
    pdf = [r for r in runs if "make pdf" in r]
    assert pdf and "cp _build/pdf/book.pdf _build/html/book.pdf" in pdf[0]
    assert runs.index("make book") < runs.index(pdf[0])
    assert "pdf: $(STAMP)" in (ROOT / "Makefile").read_text()
    assert '<a href="../book.pdf">' in (ROOT / "book" / "preface.md").read_text()  # the site's root
