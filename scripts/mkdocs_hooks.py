"""MkDocs hooks (mkdocs.yml `hooks:`): one set of Markdown files, read on GitHub and built as a site.

The pages under docs/ link to each other relatively, which works in both places as it is. Two
things do not, and these hooks handle them at build time, without touching the files:

- the home page is README.md at the repository root (there is no docs/index.md): it is added to
  the site as index.md, and its links, written from the root ("docs/environment.md"), are
  rewritten from docs/ ("environment.md");
- a link that leaves docs/ ("../README.md", "../dsa_pettingzoo/env.py", "../CHANGELOG.md")
  must name a file or folder of the repository, else the build warns (an error under
  --strict); on the site it becomes a link to that file in the repository (`repo_url`), the
  README to the home page. A link to a folder under docs/ without a page becomes one to the
  folder in the repository too.

Links inside code (fenced blocks and `inline code`) are left alone.

The docstrings use a few reStructuredText habits that Markdown shows as they are: roles before
a code span (":class:`Schedule`") and "::" before a literal block. The API pages drop them.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.links")

ROOT = Path(__file__).resolve().parents[1]
HOME_SOURCE = "README.md"
BRANCH = "main"
# An inline link or image: [text](target) or [text](target "title"); the target has no spaces.
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
# Fenced code blocks and inline code spans: no link in them is rewritten.
CODE = re.compile(r"(^|\n)(```|~~~).*?\n\2[^\n]*|`[^`\n]+`", re.DOTALL)
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^#|^/")
# In the HTML of a docstring: ":class:<code>", and a paragraph that ends in "::"
ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|py:\w+):(?=<code)")
DOUBLE_COLON = re.compile(r"::(?=</p>)")


def on_files(files, config):
    """Add README.md as the home page, index.md."""
    if files.get_file_from_path("index.md") is not None:
        raise ValueError(
            "docs/index.md exists: the home page is README.md (scripts/mkdocs_hooks.py)"
        )
    content = (ROOT / HOME_SOURCE).read_text(encoding="utf-8")
    files.append(File.generated(config, "index.md", content=content))
    return files


def _docs_dir(config) -> str:
    return Path(config["docs_dir"]).resolve().relative_to(ROOT).as_posix()


def _source_path(page, config) -> str:
    """The page's file, relative to the repository root, as its links are written."""
    if page.file.src_uri == "index.md":
        return HOME_SOURCE
    return f"{_docs_dir(config)}/{page.file.src_uri}"


def _rewrite(target: str, page, config, files) -> str:
    if EXTERNAL.match(target):
        return target
    path, hash_, anchor = target.partition("#")
    source = _source_path(page, config)
    in_repo = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
    docs = _docs_dir(config)
    page_dir = posixpath.dirname(f"{docs}/{page.file.src_uri}")
    if in_repo == HOME_SOURCE:
        in_repo = f"{docs}/index.md"
    if in_repo.startswith("../") or in_repo == "..":
        log.warning("%s: link %r leaves the repository", source, target)
        return target
    inside = in_repo == docs or in_repo.startswith(docs + "/")
    if inside and (ROOT / in_repo).is_dir():
        for name in ("index.md", "README.md"):
            if files.get_file_from_path(posixpath.join(in_repo[len(docs) + 1 :], name)):
                in_repo = posixpath.join(in_repo, name)
                break
    if inside and files.get_file_from_path(in_repo[len(docs) + 1 :]) is not None:
        if source == HOME_SOURCE or in_repo.endswith("/index.md"):
            return posixpath.relpath(in_repo, page_dir) + hash_ + anchor
        return target
    if inside and not (ROOT / in_repo).is_dir():
        # a missing page or an excluded file: left as is, for MkDocs to report
        return target
    if not (ROOT / in_repo).exists():
        log.warning("%s: link %r names %s, which is not in the repository", source, target, in_repo)
        return target
    kind = "tree" if (ROOT / in_repo).is_dir() else "blob"
    url = f"{config['repo_url'].rstrip('/')}/{kind}/{BRANCH}/{in_repo}"
    return url + hash_ + anchor


def on_page_markdown(markdown, page, config, files):
    """Rewrite the page's relative links for the site (see the module docstring)."""
    out, last = [], 0
    for code in CODE.finditer(markdown):
        out.append(_rewrite_links(markdown[last : code.start()], page, config, files))
        out.append(code.group(0))
        last = code.end()
    out.append(_rewrite_links(markdown[last:], page, config, files))
    return "".join(out)


def _rewrite_links(text, page, config, files):
    return LINK.sub(
        lambda m: m.group(1) + _rewrite(m.group(2), page, config, files) + m.group(3), text
    )


def on_page_content(html, page, config, files):
    """Drop reStructuredText roles and "::" from the docstrings of the API pages."""
    if not page.file.src_uri.startswith("api/"):
        return html
    return DOUBLE_COLON.sub(":", ROLE.sub("", html))
