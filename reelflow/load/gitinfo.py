"""Where a shot list sits in git: its repository root, the commit of its last change, HEAD."""

from __future__ import annotations

import subprocess
from pathlib import Path


def find_repo_root(path: Path) -> Path:
    """Nearest ancestor holding .git; otherwise the parent of a 'shotlists' folder or the folder."""
    path = path.resolve()
    for parent in [path.parent, *path.parent.parents]:
        if (parent / ".git").exists():
            return parent
    if path.parent.name == "shotlists":
        return path.parent.parent
    return path.parent


def git_commit(path: Path) -> str | None:
    """Commit of the last change to ``path`` (None outside git or with uncommitted edits noted)."""
    try:
        out = subprocess.run(
            ["git", "log", "-n1", "--format=%H", "--", path.name],
            cwd=path.parent, capture_output=True, text=True, timeout=10,
        )
        commit = out.stdout.strip() or None
        if commit:
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--", path.name],
                cwd=path.parent, capture_output=True, text=True, timeout=10,
            ).stdout.strip()
            if dirty:
                commit += "+dirty"
        return commit
    except (OSError, subprocess.SubprocessError):
        return None


def head_commit(path: Path) -> str | None:
    """HEAD of the repository holding ``path``, marked +dirty when the file has local edits."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path.parent, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
        if head:
            dirty = subprocess.run(["git", "status", "--porcelain", "--", path.name], cwd=path.parent,
                                   capture_output=True, text=True, timeout=10).stdout.strip()
            if dirty:
                head += "+dirty"
        return head
    except (OSError, subprocess.SubprocessError):
        return None
