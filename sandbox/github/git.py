"""The sandbox repository's Git objects: blobs, trees, commits and refs (GitHub's Git data API).

Enough of Git for what a bot does through ``/git/...``: read a ref, create blobs, a tree on
top of a base tree, a commit with parents, then create or move a ref (a move that is not a
fast-forward needs ``force``, as on GitHub). Trees are kept flat (path -> blob sha); a tree
created with a nested path (``docs/backlog.md``) holds it under that path. Blob shas are
Git's own (``sha1("blob <size>\\0" + bytes)``); trees and commits get a stable sha1 of their
content. Records are plain dicts; ``shape_*`` render GitHub's JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sandbox.github import shapes
from sandbox.github.state import SandboxError

FILE_MODES = ("100644", "100755", "120000")


def blob_sha(raw: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()


def _object_sha(kind: str, content: Any) -> str:
    raw = json.dumps(content, sort_keys=True).encode()
    return hashlib.sha1(kind.encode() + b" %d\0" % len(raw) + raw).hexdigest()


@dataclass
class GitStore:
    """Blobs, flat trees, commits and refs of one repository (callers hold the repo lock)."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # sha -> path -> blob sha
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "heads/main" -> commit sha

    # --- objects -----------------------------------------------------------------------------

    def add_blob(self, raw: bytes) -> str:
        sha = blob_sha(raw)
        self.blobs[sha] = raw
        return sha

    def add_tree(self, entries: dict[str, str]) -> str:
        for path, sha in entries.items():
            if sha not in self.blobs:
                raise SandboxError(422, f"GitRPC::BadObjectState: {path} points at {sha}")
        sha = _object_sha("tree", entries)
        self.trees[sha] = dict(entries)
        return sha

    def add_commit(
        self,
        message: str,
        tree: str,
        parents: list[str],
        *,
        author: dict[str, str],
        committer: dict[str, str] | None = None,
    ) -> str:
        if tree not in self.trees:
            raise SandboxError(422, "Tree SHA does not exist")
        for parent in parents:
            if parent not in self.commits:
                raise SandboxError(422, "Parent SHA does not exist or is not a commit object")
        record = {
            "message": message,
            "tree": tree,
            "parents": list(parents),
            "author": dict(author),
            "committer": dict(committer or author),
        }
        sha = _object_sha("commit", {**record, "n": len(self.commits)})
        self.commits[sha] = record
        return sha

    def commit_files(
        self, parent: str | None, files: dict[str, str], *, message: str, author: dict[str, str]
    ) -> str:
        """A commit on ``parent`` with ``files`` (path -> text) written over its tree."""
        entries = dict(self.trees[self.commits[parent]["tree"]]) if parent else {}
        for path, text in files.items():
            entries[path] = self.add_blob(text.encode())
        return self.add_commit(message, self.add_tree(entries), [parent] if parent else [],
                               author=author)  # fmt: skip

    def files(self, commit: str) -> dict[str, bytes]:
        """Path -> bytes of every file at ``commit``."""
        record = self.commits.get(commit)
        if record is None:
            return {}
        return {path: self.blobs[sha] for path, sha in self.trees[record["tree"]].items()}

    def resolve(self, ref: str | None, default: str = "main") -> str | None:
        """A branch name, ``heads/x``, ``refs/heads/x`` or a commit sha -> the commit sha."""
        name = (ref or default).removeprefix("refs/")
        name = name if name.startswith(("heads/", "tags/")) else f"heads/{name}"
        if name in self.refs:
            return self.refs[name]
        return ref if ref in self.commits else None

    def is_ancestor(self, older: str, newer: str) -> bool:
        pending, seen = [newer], set()
        while pending:
            sha = pending.pop()
            if sha == older:
                return True
            if sha in seen or sha not in self.commits:
                continue
            seen.add(sha)
            pending.extend(self.commits[sha]["parents"])
        return False

    def ancestry(self, sha: str) -> set[str]:
        """``sha`` and every commit it descends from."""
        pending, seen = [sha], set()
        while pending:
            current = pending.pop()
            if current in seen or current not in self.commits:
                continue
            seen.add(current)
            pending.extend(self.commits[current]["parents"])
        return seen

    def compare(self, base: str, head: str) -> tuple[str | None, list[str], int]:
        """The merge base of ``base`` and ``head``, the commits on ``head`` that ``base``
        lacks (oldest first, in creation order) and how many ``head`` lacks."""
        on_base, on_head = self.ancestry(base), self.ancestry(head)
        common = on_base & on_head
        # the best common ancestor: one that no other common ancestor descends from
        merge_base = next(
            (
                sha
                for sha in reversed(self.commits)
                if sha in common
                and not any(other != sha and sha in self.ancestry(other) for other in common)
            ),
            None,
        )
        ahead = [sha for sha in self.commits if sha in on_head and sha not in on_base]
        return merge_base, ahead, len(on_base - on_head)

    # --- the Git data API ----------------------------------------------------------------------

    def get_ref(self, ref: str) -> str:
        if not self.commits:
            raise SandboxError(409, "Git Repository is empty.")
        sha = self.refs.get(ref)
        if sha is None:
            raise SandboxError(404, "Not Found")
        return sha

    def create_ref(self, ref: str, sha: str) -> str:
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise SandboxError(422, "Reference name must start with 'refs/' and have two slashes")
        name = ref.removeprefix("refs/")
        if name in self.refs:
            raise SandboxError(422, "Reference already exists")
        if sha not in self.commits:
            raise SandboxError(422, "Object does not exist")
        self.refs[name] = sha
        return name

    def update_ref(self, ref: str, sha: str, *, force: bool) -> None:
        if ref not in self.refs:
            raise SandboxError(422, "Reference does not exist")
        if sha not in self.commits:
            raise SandboxError(422, "Object does not exist")
        if not force and not self.is_ancestor(self.refs[ref], sha):
            raise SandboxError(422, "Update is not a fast forward")
        self.refs[ref] = sha

    def create_tree(self, base_tree: str | None, items: list[dict[str, Any]]) -> str:
        if base_tree is not None and base_tree not in self.trees:
            raise SandboxError(422, "base_tree is not a valid tree oid")
        entries = dict(self.trees[base_tree]) if base_tree else {}
        for item in items:
            path, mode = item.get("path"), item.get("mode")
            if not isinstance(path, str) or not path or mode not in FILE_MODES:
                raise SandboxError(422, "Invalid tree info")
            if item.get("type", "blob") != "blob":
                raise SandboxError(422, "Invalid tree info: only blob entries are supported")
            if "content" in item:
                entries[path] = self.add_blob(str(item["content"]).encode())
            elif item.get("sha") is None:
                entries.pop(path, None)  # sha null: the file is deleted
            elif item["sha"] in self.blobs:
                entries[path] = item["sha"]
            else:
                raise SandboxError(422, f"Invalid tree info: {item['sha']} is not a blob")
        return self.add_tree(entries)

    # --- shapes ------------------------------------------------------------------------------

    def shape_ref(self, api: str, name: str) -> dict[str, Any]:
        sha = self.refs[name]
        return {
            "ref": f"refs/{name}",
            "node_id": shapes.node_id("REF", int(sha[:8], 16)),
            "url": f"{api}/git/refs/{name}",
            "object": {"type": "commit", "sha": sha, "url": f"{api}/git/commits/{sha}"},
        }

    def shape_blob(self, api: str, sha: str) -> dict[str, Any]:
        return {"url": f"{api}/git/blobs/{sha}", "sha": sha}

    def shape_tree(self, api: str, sha: str) -> dict[str, Any]:
        return {
            "sha": sha,
            "url": f"{api}/git/trees/{sha}",
            "truncated": False,
            "tree": [
                {
                    "path": path,
                    "mode": "100644",
                    "type": "blob",
                    "sha": blob,
                    "size": len(self.blobs[blob]),
                    "url": f"{api}/git/blobs/{blob}",
                }
                for path, blob in sorted(self.trees[sha].items())
            ],
        }

    def shape_rest_commit(self, api: str, html: str, sha: str) -> dict[str, Any]:
        """A commit as the REST commits and compare endpoints list it."""
        git = self.shape_commit(api, html, sha)
        return {
            "url": f"{api}/commits/{sha}",
            "sha": sha,
            "node_id": git["node_id"],
            "html_url": git["html_url"],
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": git["url"],
                "author": git["author"],
                "committer": git["committer"],
                "message": git["message"],
                "comment_count": 0,
                "tree": git["tree"],
                "verification": git["verification"],
            },
            # no GitHub account is known by a commit's e-mail here: GitHub's empty object
            "author": {},
            "committer": {},
            "parents": git["parents"],
        }

    def shape_commit(self, api: str, html: str, sha: str) -> dict[str, Any]:
        record = self.commits[sha]
        return {
            "sha": sha,
            "node_id": shapes.node_id("C", int(sha[:8], 16)),
            "url": f"{api}/git/commits/{sha}",
            "html_url": f"{html}/commit/{sha}",
            "author": record["author"],
            "committer": record["committer"],
            "message": record["message"],
            "tree": {"sha": record["tree"], "url": f"{api}/git/trees/{record['tree']}"},
            "parents": [
                {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{html}/commit/{p}"}
                for p in record["parents"]
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }


def decode_blob(fields: dict[str, Any]) -> bytes:
    """The bytes of a create-blob request (``encoding`` utf-8, the default, or base64)."""
    content = fields.get("content")
    if not isinstance(content, str):
        raise SandboxError(422, 'Invalid request.\n\n"content" wasn\'t supplied.')
    encoding = fields.get("encoding", "utf-8")
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except ValueError as exc:
            raise SandboxError(422, "Invalid base64 content") from exc
    if encoding not in ("utf-8", "utf8"):
        raise SandboxError(422, f"Invalid encoding {encoding!r}")
    return content.encode()
