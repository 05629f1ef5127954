"""GitOps mode: changes made in Jira/GitHub reach the repository's backlog as one pull request.

When the backlog file lives in the GitHub repository (``[validation] backlog-path``) and
``[sync] pull-request`` is on (the default), the service does not write tracker-side changes
anywhere itself: webhooks and the scheduled pull run ``GitOps.run`` (``bot.gitops.run``; the
webhook handler is ``bot.gitops.handler``; ``bot.wiring.gitops`` puts the parts together), which

1. reads the backlog from the default branch (contents API);
2. reads every configured tracker (batched, as ``plan`` does) and three-way merges each field
   with the base kept in the state database (``bot.targets.twoway``);
3. writes the tracker-side changes into the text in the file's own style (``pull``), only the
   lines that change;
4. proposes the result as one pull request titled ``backlog-bot: changes from Jira/GitHub``
   from the branch ``backlog-bot/sync``: the branch is rebuilt as one commit on the default
   branch's head (a blob, a tree on the head's tree, a commit, the ref created or moved),
   only when the proposed text differs from what the branch holds, and the open pull request
   is found by its head and edited in place (body listing every change and every conflict).

Stories created in a tracker under a linked epic are appended to their epic with the next
id (``bot.targets.newstories``); they are linked to their issues when the merged file is
pushed (matched by epic and title, before the push's apply), never while only proposed.
Only changes known to come from the tracker are proposed: a field with no merge base yet (a
link made before two-way sync, or by a tool that records none) is listed, not written.
Nothing ping-pongs: the merge base is not moved when the pull request is opened (the default
branch still has the old values, and an apply of it must not push them back: it sees a
tracker-side change and leaves it alone), only once both sides agree (the merged file equals
the tracker). Merging the pull request sends the ``push`` webhook; its apply finds every field
equal and writes nothing. A run whose proposal is empty (the tracker was changed back) closes
a pull request left open. Runs take the ``gitops:<repository>`` lock, so two deliveries never
open two pull requests; a burst of deliveries makes one run once it is quiet
(``bot.gitops.debounce``, ``[sync] gitops-debounce-seconds``). A tracker that cannot be read
fails the run (the delivery is retried, or the debounced run is due again after a backoff;
the scheduled pull logs it) and the pull request stays as it is; so does a backlog on the
default branch that does not parse.
"""
