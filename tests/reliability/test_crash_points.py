"""A crash right after every mutating call of `up` and of `down`, each followed by a rerun:
no call is made twice, nothing is duplicated, the consumer's query returns its rows, and
`down` leaves both accounts as they were (issue 16, item 6). How: `crash.py`.

`make test` runs the first crash points of `up` (a sample); `make test-full` all of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smus_mesh.collaboration import Collaboration
from smus_mesh.engine.workspace import Workspace
from tests.e2e.conftest import example_document
from tests.e2e.helpers import (
    CONVERGED,
    assert_inventory_unchanged,
    calls_since,
    count_setup,
    last_seq,
)
from tests.reliability.crash import (
    Link,
    crash_chain,
    mutating,
    run_once_killed_after_first_mutation,
)
from tests.support import Cloud

EXPECTED_ROWS = [["faro", "120"], ["lisbon", "450"], ["porto", "4295"]]


def _assert_chain(links: list[Link], clean: list[str], command: str) -> None:
    killed = [link for link in links if link.killed]
    final = links[-1]
    assert not final.killed and final.exit_code == 0, final.stderr[-3000:]
    # Each run was killed right after a mutating call of its own (calls other steps had
    # already sent are done too, and share that crash)...
    assert all(link.mutating for link in killed)
    # ...and together they made no call more often than a clean run does: no rerun
    # repeated a call that had been answered. (A call may be left out: a crash can leave
    # AWS to finish something the clean run does itself; the inventory says whether
    # anything was left, after the chain.)
    made = [call for link in links for call in link.mutating]
    repeated = sorted((Counter(made) - Counter(clean)).elements())
    assert repeated == [], f"{command}: calls made more often than in a clean run {repeated}"
    skipped = sorted((Counter(clean) - Counter(made)).elements())
    shared = sum(len(link.mutating) - 1 for link in killed)
    print(
        f"\n[{command}] {len(clean)} mutating calls in a clean run; {len(killed)} crashes, each "
        f"followed by a rerun ({shared} call(s) already sent shared a crash); the last run "
        f"made {len(final.mutating)} call(s) to finish; 0 calls repeated; "
        f"{len(skipped)} call(s) of the clean run not needed: {skipped}"
    )


def _clean_run(
    cloud: Cloud, make_workspace: Callable[..., Workspace], document: dict[str, Any], tmp_path: Path
) -> tuple[list[str], list[str]]:
    """The mutating calls of a clean `up` and of a clean `down`, in order."""
    before = cloud.inventory()
    state = tmp_path / "clean.json"
    since = last_seq(cloud)
    assert make_workspace(document, state).up().ok
    clean_up = mutating(calls_since(cloud, since))
    since = last_seq(cloud)
    report, leftovers = make_workspace(document, state).down()
    assert report.ok and leftovers.count() == 0
    clean_down = mutating(calls_since(cloud, since))
    assert_inventory_unchanged(before, cloud.inventory(), "clean up and down")
    return clean_up, clean_down


@pytest.mark.full
@pytest.mark.timeout(5400)
def test_a_crash_after_every_mutating_call_of_up(
    cloud: Cloud,
    make_workspace: Callable[..., Workspace],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    document = example_document()
    config = write_config(document)
    before = cloud.inventory()
    clean_up, _ = _clean_run(cloud, make_workspace, document, tmp_path)

    state = tmp_path / "state.json"
    links = crash_chain(cloud, config, state, ("up",), limit=len(clean_up) + 10)
    _assert_chain(links, clean_up, "up")
    assert count_setup(cloud, document["domain"]["name"]) == CONVERGED
    results = Collaboration(make_workspace(document, state)).run_checks()
    assert [(r.ok, r.rows, r.message) for r in results] == [(True, EXPECTED_ROWS, "")]
    report, leftovers = make_workspace(document, state).down()
    assert report.ok and leftovers.count() == 0
    assert_inventory_unchanged(before, cloud.inventory(), "down after up crashed at every step")


@pytest.mark.full
@pytest.mark.timeout(5400)
def test_a_crash_after_every_mutating_call_of_down(
    cloud: Cloud,
    make_workspace: Callable[..., Workspace],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    document = example_document()
    config = write_config(document)
    before = cloud.inventory()
    _, clean_down = _clean_run(cloud, make_workspace, document, tmp_path)

    state = tmp_path / "state.json"
    assert make_workspace(document, state).up().ok
    links = crash_chain(cloud, config, state, ("down", "--yes"), limit=len(clean_down) + 10)
    _assert_chain(links, clean_down, "down")
    assert_inventory_unchanged(before, cloud.inventory(), "down crashed at every step")
    assert not state.exists()


def test_the_first_crash_points_of_up_each_followed_by_a_rerun(
    cloud: Cloud,
    make_workspace: Callable[..., Workspace],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    """The sample in `make test`: two crashes at the start of `up`, each right after a
    mutating call, then a rerun that converges with nothing duplicated."""
    document = example_document()
    config = write_config(document)
    state = tmp_path / "state.json"
    for index in range(2):
        log = tmp_path / f"run-{index}.log"
        link = run_once_killed_after_first_mutation(cloud, config, state, ("up",), log)
        assert link.killed and link.mutating, link.stderr[-3000:]
    report = make_workspace(document, state).up()
    assert report.ok, [f.message for f in report.failures]
    assert count_setup(cloud, document["domain"]["name"]) == CONVERGED
