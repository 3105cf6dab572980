"""bot/rasa_graph_runner.py: Rasa's graph runner with the order dask chose replayed gives Rasa's results, runs the
nodes in dask's order with dask's arguments, and fails as Rasa does; installed and removed with the patches."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Text

import pytest
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

from bot import rasa_patches

CALLS: List[str] = []


class Step(GraphComponent):
    """Notes its call and returns its name joined to its inputs ("boom" as an input raises)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "Step":
        return cls(config["name"])

    def run(self, **inputs: Any) -> str:
        CALLS.append(self.name)
        if "boom" in inputs.values():
            raise ValueError(f"{self.name}: boom")
        return self.name + "(" + ",".join(f"{k}={v}" for k, v in sorted(inputs.items())) + ")"


def _node(name: str, needs: Dict[str, str], target: bool = False) -> SchemaNode:
    return SchemaNode(needs=needs, uses=Step, constructor_name="create", fn="run", config={"name": name},
                      is_target=target)


SCHEMA = GraphSchema({
    "tokens": _node("tokens", {"text": "__message__"}),
    "left": _node("left", {"t": "tokens"}),
    "right": _node("right", {"t": "tokens", "extra": "__extra__"}),
    "join": _node("join", {"a": "left", "b": "right"}),
    "policy_a": _node("policy_a", {"j": "join", "tracker": "__tracker__"}),
    "policy_b": _node("policy_b", {"tracker": "__tracker__"}),
    "ensemble": _node("ensemble", {"a": "policy_a", "b": "policy_b"}, target=True),
})


@pytest.fixture()
def runner(tmp_path: Any) -> Iterator[DaskGraphRunner]:
    rasa_patches.uninstall()
    yield DaskGraphRunner(SCHEMA, LocalModelStorage(tmp_path), ExecutionContext(SCHEMA, "test"))
    rasa_patches.uninstall()


def _runs(runner: DaskGraphRunner, inputs: List[Dict[str, Any]], targets: Optional[List[str]]) -> List[Any]:
    out: List[Any] = []
    for given in inputs:
        CALLS.clear()
        try:
            out.append((runner.run(inputs=given, targets=targets), list(CALLS)))
        except Exception as exc:  # noqa: BLE001 - compared both ways
            out.append((type(exc).__name__, str(exc), list(CALLS)))
    return out


CASES = [
    ([{"__message__": "hi", "__extra__": "x", "__tracker__": "t1"},
      {"__message__": "ho", "__extra__": "y", "__tracker__": "t2"},
      {"__message__": "boom", "__extra__": "y", "__tracker__": "t3"},
      {"__message__": "again", "__extra__": "z", "__tracker__": "t4"}], None),
    ([{"__message__": "hi"}, {"__message__": "ho"}], ["left", "tokens"]),
    ([{"__message__": "hi"}, {"__message__": "ho"}], ["right"]),  # "__extra__" never given: dask passes the name
    ([{"__tracker__": "t"}, {"__tracker__": "u"}], ["policy_b"]),
]


@pytest.mark.parametrize("inputs,targets", CASES)
def test_the_same_results_order_and_errors_as_rasas_runner(runner: DaskGraphRunner, inputs: List[Dict[str, Any]],
                                                           targets: Optional[List[str]]) -> None:
    rasa_own = _runs(runner, inputs, targets)
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    assert "graph-plans" in rasa_patches.active()
    ours = _runs(runner, inputs, targets)
    assert ours == rasa_own
    # a first run that worked left its plan, and the later runs were replayed from it
    assert bool(runner.__dict__["_canyu_plans"]) == isinstance(rasa_own[0][0], dict)


def test_an_input_named_like_a_node_fails_as_in_rasa(runner: DaskGraphRunner) -> None:
    from rasa.engine.exceptions import GraphRunError

    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        runner.run(inputs={"__message__": "tokens"})


def test_uninstall_gives_rasas_run_back_and_speedups_off_keeps_it() -> None:
    original = DaskGraphRunner.run
    rasa_patches.uninstall()
    rasa_patches.install({"CANYU_ACTION_RETRY_S": "0"})
    assert DaskGraphRunner.run is not original
    rasa_patches.uninstall()
    assert DaskGraphRunner.run is original
    rasa_patches.install({"CANYU_RASA_SPEEDUPS": "0", "CANYU_ACTION_RETRY_S": "0"})
    assert DaskGraphRunner.run is original and "graph-plans" not in rasa_patches.active()
    rasa_patches.uninstall()
