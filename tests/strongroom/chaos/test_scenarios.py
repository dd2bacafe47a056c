from servicekit.crashpoints import POINTS
from strongroom.chaos.scenarios import HOPS, SCENARIOS, Scenario, scenario_for
from strongroom.chaos.workload import SHAPES, intents
from strongroom.faultproxy import KINDS


def test_the_cycle_holds_every_crash_point_and_every_fault_on_every_hop_once() -> None:
    crashes = {s.target for s in SCENARIOS if s.kind == "crash"}
    faults = {(s.kind, s.target) for s in SCENARIOS if s.kind != "crash"}
    assert crashes == {":".join(p) for p in POINTS}
    assert faults == {(k, h) for k in KINDS for h in HOPS}
    assert len(SCENARIOS) == len(POINTS) + len(KINDS) * len(HOPS)


def test_seeds_go_round_the_cycle() -> None:
    n = len(SCENARIOS)
    assert [scenario_for(s) for s in range(n)] == list(SCENARIOS)
    assert scenario_for(n + 3) == SCENARIOS[3]


def test_a_crash_names_the_process_it_kills() -> None:
    assert Scenario("crash", "api:assessed:before").process == "api-live"
    assert Scenario("crash", "vault:claimed:after").process == "vault"


def test_a_seed_asks_for_the_same_intents_and_its_first_ones_hold_every_shape() -> None:
    shapes = set(SHAPES)
    for seed in range(20):
        first = intents("r", seed, 10)
        assert first == intents("r", seed, 10)
        assert {i.shape for i in first[: len(shapes)]} == shapes
    assert intents("r", 1, 10) != intents("r", 2, 10)
