"""An import-linter contract type of ours: no import cycle between modules.

import-linter's own ``acyclic_siblings`` contract compares sibling packages as wholes (inside
``bot`` the ``layers`` contract in pyproject.toml does that, and more), and misses a
module-level loop that crosses packages (``bot.digests.standup`` -> ``bot.slack.messages`` ->
``bot.digests.standup``) or runs inside one package. This contract looks at the module graph
itself: for every direct import ``a -> b`` between our modules, is there a chain back from
``b`` to ``a``? Imports under ``if TYPE_CHECKING:`` count, since a cycle that only the type
checker sees still means the two modules cannot be read, moved or tested apart.

Registered in pyproject.toml (``contract_types``); ``lint-imports`` runs from the repository
root, which it puts on ``sys.path``.
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class AcyclicModulesContract(Contract):
    """Configuration: ``packages``, the root packages whose modules must import acyclically."""

    type_name = "acyclic_modules"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        ours: set[str] = set()
        for package in self.packages:  # type: ignore[attr-defined]
            ours |= {package, *graph.find_descendants(package)}
        cycles: set[tuple[str, ...]] = set()
        for importer in sorted(ours):
            for imported in sorted(graph.find_modules_directly_imported_by(importer) & ours):
                back = graph.find_shortest_chain(importer=imported, imported=importer)
                if back is not None:
                    cycles.add(_canonical((importer, *back[:-1])))
        return ContractCheck(kept=not cycles, metadata={"cycles": sorted(cycles)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        cycles: list[tuple[str, ...]] = check.metadata["cycles"]
        output.print_error(f"{len(cycles)} import cycle(s); break each at one of its arrows:")
        output.new_line()
        for cycle in cycles:
            output.print_error(" -> ".join((*cycle, cycle[0])), bold=False)
        output.new_line()


def _canonical(cycle: tuple[str, ...]) -> tuple[str, ...]:
    """The cycle rotated to start at its smallest module, so each is reported once."""
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]
