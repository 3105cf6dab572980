"""Rasa's graph runner replays the order dask chose instead of asking dask on every run (a patch installed by
bot/rasa_patches.py).

Why: every message runs Rasa's inference graph several times (the NLU once, the policies once per predicted
action), and each `DaskGraphRunner.run` rebuilt the minimal schema and the dask graph, and let dask's scheduler
order and run ~10-20 nodes: ~7% of Rasa's CPU at c=16 outside the nodes themselves (bench/profile_rasa.py,
docs/throughput.md). The graph, the targets and the names of the inputs are the same on every run of one kind,
so the order is too.

How: the first run of each (targets, input names) goes through Rasa's own code with dask, recording the order in
which dask called the nodes; later runs call the same nodes, in that order, with the same arguments dask passes
(each node gets its parents' `(name, output)` pairs, an input its `(name, value)` pair, and a name that nothing
provides as the bare name, as dask does). Results, exceptions (`RuntimeError` -> `GraphRunError`) and the debug
log are Rasa's. The plans live on the runner object (`_canyu_plans`).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional, Text, Tuple

__all__ = ["install_graph_plans"]

_PLANS = "_canyu_plans"
_Plan = List[Tuple[Text, Tuple[Text, ...]]]  # (node name, the names of its inputs in dask's argument order)


def _record(runner: Any, inputs: Optional[Dict[Text, Any]], targets: List[Text]) -> Tuple[Dict[Text, Any], _Plan]:
    """Rasa's run (dask), noting the order dask calls the nodes in."""
    from dask.local import get_sync
    from rasa.engine.exceptions import GraphRunError

    schema = runner._graph_schema.minimal_graph_schema(targets)
    plan: _Plan = []

    def node_call(name: Text, node: Any, needs: Tuple[Text, ...]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            plan.append((name, needs))
            return node(*args)
        return call

    graph: Dict[Text, Any] = {}
    for name, schema_node in schema.nodes.items():
        needs = tuple(schema_node.needs.values())
        graph[name] = (node_call(name, runner._instantiated_nodes[name], needs), *needs)
    if inputs:
        runner._add_inputs_to_graph(inputs, graph)
    try:
        return dict(get_sync(graph, targets)), plan
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


def _replay(runner: Any, plan: _Plan, inputs: Optional[Dict[Text, Any]], targets: List[Text]) -> Dict[Text, Any]:
    from rasa.engine.exceptions import GraphRunError

    values: Dict[Text, Any] = {name: (name, value) for name, value in (inputs or {}).items()}
    nodes = runner._instantiated_nodes
    try:
        for name, needs in plan:
            values[name] = nodes[name](*[values[n] if n in values else n for n in needs])
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e
    return dict(values[target] for target in targets)


def install_graph_plans(originals: Dict[str, Callable[..., Any]]) -> None:
    """Replace `DaskGraphRunner.run` (Rasa's kept in `originals["DaskGraphRunner.run"]`)."""
    from rasa.engine.runner import dask as dask_runner
    from rasa.engine.runner.dask import DaskGraphRunner

    original = DaskGraphRunner.run
    originals["DaskGraphRunner.run"] = original
    logger = dask_runner.logger

    def run(self: Any, inputs: Optional[Dict[Text, Any]] = None, targets: Optional[List[Text]] = None
            ) -> Dict[Text, Any]:
        run_targets = targets if targets else self._graph_schema.target_names
        if inputs and any(isinstance(value, str) and value in self._graph_schema.nodes for value in inputs.values()):
            checked: Dict[Text, Any] = original(self, inputs, targets)  # Rasa's check of a clash, Rasa's run
            return checked
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(f"Running graph with inputs: {inputs}, targets: {targets} "
                         f"and {self._execution_context}.")
        plans: Dict[Tuple[Tuple[Text, ...], Tuple[Text, ...]], _Plan] = self.__dict__.setdefault(_PLANS, {})
        key = (tuple(run_targets), tuple(inputs or ()))
        plan = plans.get(key)
        if plan is None:
            result, plans[key] = _record(self, inputs, run_targets)
            return result
        return _replay(self, plan, inputs, run_targets)

    run.__doc__ = original.__doc__
    DaskGraphRunner.run = run
