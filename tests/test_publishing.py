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


def _fake_site(path: Path, text: str) -> Path:
    (path / "notebooks").mkdir(parents=True)
    (path / "index.html").write_text(text)
    (path / "notebooks" / "01.html").write_text(text)
    return path


def test_a_release_book_is_archived_once_and_published_under_its_own_address(tmp_path):
    from tools.publish_releases import publish

    archive = tmp_path / "archive"
    site = _fake_site(tmp_path / "build1", "book of 0.6.0")
    assert publish(site, archive, "0.6.0") == ["v0.6.0"]
    assert (site / "releases" / "v0.6.0" / "notebooks" / "01.html").read_text() == "book of 0.6.0"
    # A later build of the same version publishes the archived book, not itself.
    later = _fake_site(tmp_path / "build2", "later build, still 0.6.0")
    assert publish(later, archive, "0.6.0") == ["v0.6.0"]
    assert (later / "releases" / "v0.6.0" / "index.html").read_text() == "book of 0.6.0"
    # A new version is archived beside it; the index lists both, newest first (0.10 after 0.9).
    for n, version in enumerate(["0.9.0", "0.10.0"]):
        site = _fake_site(tmp_path / f"build{n + 3}", f"book of {version}")
        publish(site, archive, version)
    assert [p.name for p in sorted((site / "releases").iterdir()) if p.is_dir()] == ["v0.10.0", "v0.6.0", "v0.9.0"]
    index = (site / "releases" / "index.html").read_text()
    assert index.index("v0.10.0/index.html") < index.index("v0.9.0/index.html") < index.index("v0.6.0/index.html")
    assert not (archive / "v0.10.0" / "releases").exists()  # an archived book does not nest the others


def test_publishing_releases_rejects_a_bad_version_or_an_unbuilt_site(tmp_path):
    import pytest

    from tools.publish_releases import publish

    site = _fake_site(tmp_path / "site", "x")
    with pytest.raises(ValueError, match="version"):
        publish(site, tmp_path / "archive", "latest")
    with pytest.raises(ValueError, match="index.html"):
        publish(tmp_path / "empty", tmp_path / "archive", "1.0.0")


def test_workflow_archives_each_release_book_before_uploading_the_site():
    import course_lib
    from tools.publish_releases import library_version

    assert library_version() == course_lib.__version__
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["build"]["steps"]
    names = [s.get("run") or s.get("uses") for s in steps]
    archive = [r for r in names if "tools.publish_releases --site _build/html" in r]
    assert archive and "git push origin HEAD:book-releases" in archive[0]
    upload = [n for n in names if n.startswith("actions/upload-pages-artifact")][0]
    assert names.index("make book") < names.index(archive[0]) < names.index(upload)
    assert "releases/v<version>/" in (ROOT / "book" / "teaching.md").read_text()
