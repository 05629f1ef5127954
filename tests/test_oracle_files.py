"""The committed vendor descriptions are the files their README names, byte for byte."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from sandbox.errors import SandboxSetupError
from sandbox.github import graphql_api
from tests.oracle_files import ORACLES, read_oracle

SHA256 = {
    "jira/swagger-v3.v3.json.gz": (
        "1f0911c58a45c712ba748f6b2b71bad688a0d28283296e6d24c7b2cc0d304624"
    ),
    "jira/software-swagger.v3.json.gz": (
        "13747842abd59914da47312d6bb38a6d4fa39a5c7cec7146df199f3a9947c58b"
    ),
    "jira/webhook-examples/jira_issue_updated.atlassian-doc-example.json": (
        "3ec6e89b68361026128d0872adf8c7276b3620a02294f257a0c8060735e0a6f1"
    ),
    "slack/web-api/slack_web_openapi_v2_without_examples.json.gz": (
        "8b92da26a3c5b11d20042a9f36d81f1fa6fc9382c5ddc471babb68b91936bc3a"
    ),
    "slack/signing-test-vector.json": (
        "31e431e21596b9b138d02133a3380ff0e7508c1e48bde886ad0cd55be0598a5d"
    ),
}
GITHUB_SCHEMA_SHA256 = "3c62d0526d133cee53221c89de9b455ade24db78b9e7ad56d642c4c15bce2654"


@pytest.mark.parametrize("name", sorted(SHA256))
def test_each_oracle_is_the_file_its_readme_names(name: str) -> None:
    readme = (ORACLES / "README.md").read_text(encoding="utf-8")
    assert f"`{name.split('/', 1)[1]}`" in readme, "every file is described in the README"
    assert SHA256[name] in readme, "the README states the same checksum"
    assert hashlib.sha256(read_oracle(name)).hexdigest() == SHA256[name]


def test_no_file_is_kept_without_provenance() -> None:
    kept = {
        str(path.relative_to(ORACLES))
        for path in ORACLES.rglob("*")
        if path.is_file() and path.name not in ("README.md", "LICENSE.slack-api-specs")
    }
    assert kept == set(SHA256)


def test_the_packaged_graphql_schema_is_octokits_file() -> None:
    text = graphql_api.schema_text()
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == GITHUB_SCHEMA_SHA256
    provenance = (Path(graphql_api.__file__).parent / "schema.graphql.md").read_text(
        encoding="utf-8"
    )
    assert GITHUB_SCHEMA_SHA256 in provenance and "@octokit/graphql-schema@15.26.1" in provenance


def test_a_schema_file_named_in_the_environment_replaces_the_packaged_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdl = "type Query { viewer: String }\n"
    plain, packed = tmp_path / "schema.graphql", tmp_path / "schema.graphql.gz"
    plain.write_text(sdl, encoding="utf-8")
    packed.write_bytes(gzip.compress(sdl.encode()))
    monkeypatch.setenv(graphql_api.SCHEMA_ENV, str(plain))
    assert graphql_api.schema_text() == sdl
    assert graphql_api.schema_text(str(packed)) == sdl
    monkeypatch.setenv(graphql_api.SCHEMA_ENV, str(tmp_path / "missing.graphql"))
    with pytest.raises(SandboxSetupError, match=r"missing\.graphql: cannot read .* unset it"):
        graphql_api.schema_text()
