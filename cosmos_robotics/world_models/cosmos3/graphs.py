"""CUDA-graph replay of one denoising step (static shapes per prompt role, batch size and layout).

A captured graph reads fixed addresses, so each graph owns copies of everything a step reads: the per-call
tensors (text K/V, rotary tables, action-head rows), refreshed once per call, and the per-step inputs (latents,
timestep), refreshed before every replay. Off CUDA (tests on a CPU) the same buffers are used and the step runs
eagerly, so the bookkeeping is exercised everywhere; a capture that fails is recorded and that shape runs eagerly.
Each graph holds a private memory pool, so only the ``max_entries`` most recently used shapes are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

StepFn = Callable[[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None, torch.Tensor], Any]


@dataclass
class _Entry:
    tensors: dict[str, torch.Tensor]  # owned per-call tensors
    inputs: list[torch.Tensor | None]  # owned per-step inputs (vision, action, timestep)
    graph: Any = None  # torch.cuda.CUDAGraph once captured
    outputs: Any = None


@dataclass
class StepGraphs:
    enabled: bool = False
    max_entries: int = 8
    entries: OrderedDict[Any, _Entry] = field(default_factory=OrderedDict)
    failures: dict[Any, str] = field(default_factory=dict)  # key -> why it runs eagerly
    captures: int = 0

    def step(self, key: Any, fn: StepFn, tensors: dict[str, torch.Tensor]) -> Callable:
        """A ``(vision, action, timestep) -> fn(...)`` callable for this call; replays a graph on CUDA."""
        if not self.enabled:
            return lambda vision, action, timestep: fn(tensors, vision, action, timestep)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = _Entry({name: t.clone() for name, t in tensors.items()}, [])
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)  # least recently used shape: its graph and pool go
        else:
            self.entries.move_to_end(key)
            for name, t in tensors.items():
                entry.tensors[name].copy_(t)

        def run(vision, action, timestep):
            if not entry.inputs:
                entry.inputs = [vision.clone(), None if action is None else action.clone(), timestep.clone()]
                if vision.is_cuda and key not in self.failures:
                    self._capture(key, entry, fn)
            for owned, new in zip(entry.inputs, (vision, action, timestep), strict=True):
                if owned is not None:
                    owned.copy_(new)
            if entry.graph is None:
                return fn(entry.tensors, *entry.inputs)
            entry.graph.replay()
            return entry.outputs

        return run

    def _capture(self, key: Any, entry: _Entry, fn: StepFn) -> None:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        try:
            with torch.cuda.stream(side):
                for _ in range(2):  # compile, autotune and allocate outside the capture
                    fn(entry.tensors, *entry.inputs)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                entry.outputs = fn(entry.tensors, *entry.inputs)
        except Exception as error:  # e.g. a kernel that cannot be captured: run this shape eagerly
            torch.cuda.current_stream().wait_stream(side)
            self.failures[key] = f"{type(error).__name__}: {error}"
            entry.outputs = None
            return
        entry.graph = graph
        self.captures += 1
