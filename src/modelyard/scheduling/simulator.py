"""Simulator: replays a workload through the same ``place`` the platform uses.

Two replays, both pure (a timer may be passed in only to measure decision time):
- ``replay_arrivals``: the experiment of Weng et al. (ATC '23): tasks only arrive, in the
  given order, one at a time; a task that does not fit is skipped. At every whole percent
  of arrived GPU demand (relative to GPU capacity) it records the GPU allocation ratio and
  the cluster's expected fragmentation ratio. ``inflate_workload`` builds that workload.
- ``simulate``: tasks with arrival times and durations on a simulated clock; a task that
  does not fit waits in a FIFO queue and is retried whenever capacity is freed; a
  higher-priority task may preempt (``preemption.choose_victims``), victims re-queue.
  It reports allocation ratio, fragmentation, pending and preempted counts.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from modelyard.domain.inventory import (
    GPU_MILLI,
    InventorySnapshot,
    Node,
    ResourceRequest,
)
from modelyard.domain.quotas import PriorityClass
from modelyard.scheduling.fragmentation import WorkloadProfile, cluster_fragmentation
from modelyard.scheduling.placement import (
    Placement,
    PlacementPolicy,
    apply_placement,
    place,
    release_placement,
)
from modelyard.scheduling.preemption import choose_victims
from modelyard.scheduling.quotas import Claim, RunningReplica

Timer = Callable[[], float]


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """The cluster when arrived GPU demand reached ``arrived_percent`` of capacity."""

    arrived_percent: int
    allocation_ratio: float
    fragmentation_ratio: float


@dataclass(frozen=True, slots=True)
class ArrivalReplay:
    """Result of ``replay_arrivals``: the curve, counts and per-decision seconds."""

    policy: str
    points: tuple[CurvePoint, ...]
    placed: int
    skipped: int
    decision_seconds: tuple[float, ...]


def inflate_workload(
    requests: Sequence[ResourceRequest], capacity_milli: int, *, factor: float, seed: int
) -> tuple[ResourceRequest, ...]:
    """Shuffle ``requests`` plus uniform samples until demand reaches ``factor`` x capacity.

    Samples are drawn with replacement; every copy gets a unique replica id.
    """
    rng = random.Random(seed)
    tasks = list(requests)
    demand = sum(r.gpu_demand_milli for r in tasks)
    extra = 0
    while demand < factor * capacity_milli and requests:
        pick = rng.choice(requests)
        extra += 1
        tasks.append(replace(pick, replica_id=f"{pick.replica_id}#{extra}"))
        demand += pick.gpu_demand_milli
    rng.shuffle(tasks)
    return tuple(tasks)


def replay_arrivals(
    inventory: InventorySnapshot,
    tasks: Sequence[ResourceRequest],
    policy: PlacementPolicy,
    *,
    profile: WorkloadProfile,
    timer: Timer | None = None,
) -> ArrivalReplay:
    """Place ``tasks`` one at a time, never removing any; record the curve per percent."""
    capacity = inventory.gpu_capacity_milli or 1
    used = inventory.gpu_used_milli
    frag = cluster_fragmentation(profile, inventory)
    arrived = placed = skipped = 0
    next_percent = 0
    points: list[CurvePoint] = []
    seconds: list[float] = []
    for task in tasks:
        arrived += task.gpu_demand_milli
        start = timer() if timer else 0.0
        decision = place(task, inventory, policy)
        if timer:
            seconds.append(timer() - start)
        if isinstance(decision, Placement):
            old = inventory.node(decision.node)
            inventory = apply_placement(inventory, decision)
            new = inventory.node(decision.node)
            frag += profile.node_fragmentation(new) - profile.node_fragmentation(old)
            used += task.gpu_demand_milli
            placed += 1
        else:
            skipped += 1
        while next_percent * capacity <= arrived * 100:
            points.append(CurvePoint(next_percent, used / capacity, frag / capacity))
            next_percent += 1
    return ArrivalReplay(policy.name, tuple(points), placed, skipped, tuple(seconds))


@dataclass(frozen=True, slots=True)
class SimTask:
    """A replica in a timed workload: its request, when it arrives, how long it runs."""

    request: ResourceRequest
    arrival_s: float
    duration_s: float | None = None
    team: str = "default"
    priority: PriorityClass = PriorityClass.DEV


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """Outcome of ``simulate`` at the end of the simulated time."""

    policy: str
    placed: int
    completed: int
    pending: int
    preempted: int
    allocation_ratio: float
    fragmentation_ratio: float
    end_s: float


@dataclass
class _State:
    """Mutable bookkeeping of one ``simulate`` call (local to it, never shared)."""

    inventory: InventorySnapshot
    policy: PlacementPolicy
    profile: WorkloadProfile
    preemption: bool
    now_s: float = 0.0
    placed: int = 0
    completed: int = 0
    preempted: int = 0

    def __post_init__(self) -> None:
        self.pending: list[SimTask] = []
        self.running: dict[str, tuple[SimTask, Placement, RunningReplica]] = {}
        self.events: list[tuple[float, int, str]] = []
        self.epoch: dict[str, int] = {}

    def start(self, task: SimTask, placement: Placement) -> None:
        self.inventory = apply_placement(self.inventory, placement)
        node = self.inventory.node(placement.node)
        model = node.gpus[0].model if node.gpus else ""
        replica = RunningReplica(task.request.replica_id, task.team, model,
                                 task.request.gpu_demand_milli, task.priority,
                                 started_s=self.now_s, node=placement.node)
        self.running[replica.replica_id] = (task, placement, replica)
        self.placed += 1
        if task.duration_s is not None:
            epoch = self.epoch[replica.replica_id] = self.epoch.get(replica.replica_id, 0) + 1
            heapq.heappush(self.events, (self.now_s + task.duration_s, epoch, replica.replica_id))

    def stop(self, replica_id: str) -> SimTask:
        task, placement, _ = self.running.pop(replica_id)
        self.inventory = release_placement(self.inventory, placement)
        self.epoch[replica_id] = self.epoch.get(replica_id, 0) + 1
        return task

    def try_place(self, task: SimTask) -> bool:
        decision = place(task.request, self.inventory, self.policy)
        if isinstance(decision, Placement):
            self.start(task, decision)
            return True
        return self.preemption and self._preempt_for(task)

    def _preempt_for(self, task: SimTask) -> bool:
        request = task.request
        claim = Claim(request.replica_id, task.team, "", request.gpu_demand_milli, task.priority)
        running = [r for _, _, r in self.running.values()]
        free = {n.name: _usable_milli(n, request) for n in self.inventory.nodes if n.gpus}
        choice = choose_victims(claim, [replace(r, gpu_model="") for r in running], (),
                                free_milli_by_node=free)
        if choice is None:
            return False
        saved = (self.inventory, dict(self.running), dict(self.epoch))
        victims = [self.stop(v.replica_id) for v in choice.victims]
        decision = place(request, self.inventory, self.policy)
        if not isinstance(decision, Placement):
            # The freed share was not usable (e.g. not whole GPUs): undo the eviction.
            self.inventory, self.running, self.epoch = saved
            return False
        self.preempted += len(victims)
        self.pending.extend(victims)
        self.start(task, decision)
        return True

    def drain_queue(self) -> None:
        self.pending.sort(key=lambda t: (-t.priority.value_number, t.arrival_s))
        self.pending = [t for t in self.pending if not self.try_place(t)]


def _usable_milli(node: Node, request: ResourceRequest) -> int:
    """GPU share on ``node`` that ``request`` could use as it is.

    One GPU's free share for a shared request; the fully free GPUs for whole-GPU requests.
    """
    if request.is_shared:
        return max((g.free_milli for g in node.gpus), default=0)
    return GPU_MILLI * sum(1 for g in node.gpus if g.free_milli == GPU_MILLI)


def simulate(
    inventory: InventorySnapshot,
    tasks: Sequence[SimTask],
    policy: PlacementPolicy,
    *,
    profile: WorkloadProfile,
    preemption: bool = True,
) -> SimulationReport:
    """Replay timed ``tasks`` on a simulated clock; returns counts and final ratios."""
    state = _State(inventory, policy, profile, preemption)
    arrivals = sorted(tasks, key=lambda t: t.arrival_s)
    i = 0
    while i < len(arrivals) or state.events:
        next_arrival = arrivals[i].arrival_s if i < len(arrivals) else float("inf")
        if state.events and state.events[0][0] <= next_arrival:
            when, epoch, replica_id = heapq.heappop(state.events)
            state.now_s = when
            if state.epoch.get(replica_id) == epoch and replica_id in state.running:
                state.stop(replica_id)
                state.completed += 1
                state.drain_queue()
            continue
        state.now_s = next_arrival
        if not state.try_place(arrivals[i]):
            state.pending.append(arrivals[i])
        i += 1
    capacity = state.inventory.gpu_capacity_milli or 1
    return SimulationReport(
        policy.name, state.placed, state.completed, len(state.pending), state.preempted,
        state.inventory.gpu_used_milli / capacity,
        cluster_fragmentation(profile, state.inventory) / capacity, state.now_s,
    )


__all__ = [
    "ArrivalReplay",
    "CurvePoint",
    "SimTask",
    "SimulationReport",
    "inflate_workload",
    "replay_arrivals",
    "simulate",
]
