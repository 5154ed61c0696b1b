"""`jobwatch simulate --scenario bulk --grow …`: a workspace that grows while it is watched."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import pytest

from jobwatch.api.decode import parse_jobs
from jobwatch.cli.parser import build_parser
from jobwatch.simulator.scenarios import GROWTH_ORDERS, Growth
from jobwatch.simulator.server import Simulator
from tests.support.serving import serving


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def all_jobs(client: httpx.Client, sim: Simulator) -> list:
    r = client.post(
        f"{sim.base_url}/v1/workspaces/{sim.workspace_id}/background-jobs",
        json={},
        headers={"Authorization": f"Bearer {sim.token}", "organizationid": sim.organization_id},
    )
    assert r.status_code == 200
    return parse_jobs(r.content)


def test_a_growing_simulator_serves_new_jobs_first_when_prepending():
    clock = Clock()
    with (
        Simulator("bulk", jobs=3000, seed=4, clock=clock, growth=Growth("prepend")) as sim,
        httpx.Client(timeout=5) as client,
    ):
        before = all_jobs(client, sim)
        clock.now += 2.0
        after = all_jobs(client, sim)
        added = len(after) - len(before)
        assert added >= 1
        assert [j.workflow_id for j in after[added:]] == [j.workflow_id for j in before]
        assert all(j.status.code == 1 for j in after[:added])


def test_the_simulate_help_names_every_growth_order():
    simulate = build_parser()._subparsers._group_actions[0].choices["simulate"]  # type: ignore[union-attr]
    text = " ".join(simulate.format_help().split())
    assert all(order in text for order in GROWTH_ORDERS)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--grow", "sideways"], "unknown growth order 'sideways'; choose one of append"),
        (["--grow", "append", "--scenario", "demo"], "--grow applies to --scenario bulk only"),
        (["--new-share", "0.5"], "the growth options need --grow ORDER"),
        (["--grow", "append", "--finished", "2"], "--finished: '2': must be between 0 and 1"),
    ],
)
def test_bad_growth_options_are_usage_errors(argv, message):
    if "--scenario" not in argv:
        argv = [*argv, "--scenario", "bulk"]
    done = subprocess.run(
        [sys.executable, "-m", "jobwatch", "simulate", "--port", "0", "--jobs", "10", *argv],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_simulate_grow_serves_a_growing_workspace_until_ctrl_c():
    argv = [sys.executable, "-m", "jobwatch", "simulate", "--port", "0", "--scenario", "bulk"]
    argv += ["--jobs", "2000", "--grow", "append", "--grow-every", "0.1", "--new-share", "0.5"]
    with serving(argv) as served:
        text = served.banner
        assert "growing          every 0.1 s: 50.0% of the running jobs new" in text
        ws = re.search(r"--workspace-id (\S+)", text).group(1)
        org = re.search(r"--organization-id (\S+)", text).group(1)
        headers = {"Authorization": f"Bearer {served.token}", "organizationid": org}
        url = f"{served.base_url}/v1/workspaces/{ws}/background-jobs"
        sizes = []
        with httpx.Client(timeout=5) as client:
            for _ in range(500):  # the list grows on its own, a tick every 0.1 s
                sizes.append(len(client.post(url, json={}, headers=headers).json()))
                if len(set(sizes)) > 1:
                    break
        assert sizes[0] >= 2000 and sizes[-1] > sizes[0]
        served.proc.send_signal(signal.SIGINT)
        _, err = served.proc.communicate(timeout=10)
        assert served.proc.returncode == 0 and err == ""
