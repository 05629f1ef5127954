"""Backlog text in Jira wiki markup: escaped so that Jira shows it as written, and read back
to the same text (``sync.jira.wiki``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jira import JIRA

from bot.cli.app import main
from sandbox.jira import JiraSandbox
from sync.jira.wiki import code_block, wiki_escape, wiki_text

BILLING = Path(__file__).resolve().parent / "data" / "billing-backlog.md"
# markup Jira's renderer acts on, when not preceded by a backslash (the start-of-word marks
# taken to be markup wherever a word can start: not after a letter or a digit)
UNESCAPED_MARKUP = re.compile(
    r"(?<!\\)(?:[*_{}\[\]|!]|(?<![^\W_])[-+^~#?]|\((?:y|x|/|!|i)\)|:\))"
    r"|(?m:^(?:h[1-6]|bq)\.)"
)

text = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"], include_characters="\n")
)


@given(text)
def test_escaped_text_reads_back_as_written(value: str) -> None:
    assert wiki_text(wiki_escape(value)) == value


@given(text)
def test_no_markup_survives_escaping(value: str) -> None:
    escaped = wiki_escape(value)
    # every markup character is preceded by a backslash: an escaped character becomes a mark
    # that is neither markup nor a letter, so it neither hides nor makes markup next to it
    plain = re.sub(r"\\.", "\0", escaped, flags=re.DOTALL)
    assert UNESCAPED_MARKUP.search(plain) is None, (value, escaped)


def test_escaping_examples() -> None:
    assert wiki_escape("*bold* _it_ {code} [link|x] !img! a\\b") == (
        "\\*bold\\* \\_it\\_ \\{code\\} \\[link\\|x\\] \\!img\\! a\\\\b"
    )
    assert wiki_escape("- item\n# step\nh3. Title\nbq. quote") == (
        "\\- item\n\\# step\nh3\\. Title\nbq\\. quote"
    )
    # identifiers and ranges are not markup: nothing to escape
    assert wiki_escape("US-002 needs 5-8 h and EPIC-001") == "US-002 needs 5-8 h and EPIC-001"
    assert wiki_escape("ok (y) :)") == "ok \\(y) \\:)"
    # after punctuation a word can start: found by the property below ("[?" left "?" bare)
    assert wiki_escape("[?x] (-gone-)") == "\\[\\?x\\] (\\-gone-)"
    assert code_block("gherkin", "Given x\n{code}\nThen y") == (
        "{code:gherkin}\nGiven x\n\\{code}\nThen y\n{code}"
    )


SENTENCE = (
    "As a billing admin, I want {invoices} in [a|table] of 2 * 3 rows per file_name_x "
    "so that -nothing- breaks !"
)


def test_a_story_with_markup_characters_reaches_jira_as_literal_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "backlog.md"
    original = BILLING.read_text(encoding="utf-8")
    file.write_text(
        original.replace(
            "As a customer, I want to see my invoices so that I can pay on time.", SENTENCE
        ).replace(
            "1. **Build invoice API** (12 hrs) - Backend",
            "1. **Build the [invoice|API] -fast- {v2}** (12 hrs) - Backend",
        ),
        encoding="utf-8",
    )
    (tmp_path / "backlog-bot.toml").write_text("", encoding="utf-8")
    with JiraSandbox() as sandbox:
        for key, value in {
            **sandbox.env(),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
            "BACKLOG_BOT_CONFIG": str(tmp_path / "backlog-bot.toml"),
        }.items():
            monkeypatch.setenv(key, value)
        assert main(["apply", str(file), "--target", "jira"]) == 0
        client = JIRA(sandbox.url, basic_auth=(sandbox.email, sandbox.token), max_retries=0)
        [key] = sandbox.issues_by_label("backlog-id-US-001")
        description = client.issue(key).fields.description  # v2: the wiki text as stored
        client.close()  # type: ignore[no-untyped-call]
        lines = description.splitlines()
        [story] = [line for line in lines if line.startswith("*User story:* ")]
        sentence = story.removeprefix("*User story:* ")
        assert UNESCAPED_MARKUP.search(re.sub(r"\\.", "", sentence)) is None, sentence
        assert wiki_text(sentence) == SENTENCE  # the sentence as the file has it
        task = next(line for line in lines if line.startswith("# "))
        assert "\\[invoice\\|API\\] \\-fast- \\{v2\\}" in task
        assert wiki_text(task) == "# Build the [invoice|API] -fast- {v2} (12h; Backend)"
        # the Gherkin stays a code block, verbatim
        assert "{code:gherkin}\nGiven I am signed in\n" in description

        capsys.readouterr()
        assert main(["plan", str(file), "--target", "jira"]) == 0  # nothing to change
        out = capsys.readouterr().out
        assert "update" not in out and "changed since the last apply" not in out
