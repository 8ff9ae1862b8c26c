"""CUDA-graph replay of a whole denoising loop (static shapes per batch size, layout and schedule).

A captured graph reads fixed addresses, so each graph owns copies of everything the loop reads: the per-call
tensors (text K/V, rotary tables, action-head rows, schedule weights), refreshed once per call, and the loop's
inputs (initial latents and actions), refreshed before every replay. Off CUDA (tests on a CPU) the same buffers
are used and the loop runs eagerly, so the bookkeeping is exercised everywhere; a capture that fails is recorded
and that shape runs eagerly. Each graph holds a private memory pool, so only the ``max_entries`` most recently
used shapes are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

LoopFn = Callable[..., Any]  # fn(tensors: dict[str, Tensor], *inputs: Tensor | None) -> outputs


@dataclass
class _Entry:
    tensors: dict[str, torch.Tensor]  # owned per-call tensors
    inputs: list[torch.Tensor | None]  # owned inputs
    graph: Any = None  # torch.cuda.CUDAGraph once captured
    outputs: Any = None


@dataclass
class LoopGraphs:
    enabled: bool = False
    max_entries: int = 8
    entries: OrderedDict[Any, _Entry] = field(default_factory=OrderedDict)
    failures: dict[Any, str] = field(default_factory=dict)  # key -> why it runs eagerly
    captures: int = 0

    def runner(self, key: Any, fn: LoopFn, tensors: dict[str, torch.Tensor]) -> Callable:
        """A ``(*inputs) -> fn(tensors, *inputs)`` callable for this call; replays a graph on CUDA."""
        if not self.enabled:
            return lambda *inputs: fn(tensors, *inputs)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = _Entry({name: t.clone() for name, t in tensors.items()}, [])
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)  # least recently used shape: its graph and pool go
        else:
            self.entries.move_to_end(key)
            for name, t in tensors.items():
                entry.tensors[name].copy_(t)

        def run(*inputs):
            if not entry.inputs:
                entry.inputs = [None if t is None else t.clone() for t in inputs]
                if any(t is not None and t.is_cuda for t in inputs) and key not in self.failures:
                    self._capture(key, entry, fn)
            for owned, new in zip(entry.inputs, inputs, strict=True):
                if owned is not None:
                    owned.copy_(new)
            if entry.graph is None:
                return fn(entry.tensors, *entry.inputs)
            entry.graph.replay()
            return entry.outputs

        return run

    def _capture(self, key: Any, entry: _Entry, fn: LoopFn) -> None:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        try:
            with torch.cuda.stream(side):
                fn(entry.tensors, *entry.inputs)  # compile, autotune and allocate outside the capture
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
