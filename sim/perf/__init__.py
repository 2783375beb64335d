"""Performance models: the time of one continuous-batching iteration of one replica.

A replica is one model on ``tp`` GPUs of one class. Every engine asks only two things of it:

``step_time(decode_seqs, prefill_tokens, kv_tokens, attn_pairs) -> seconds``
    one iteration that advances ``decode_seqs`` sequences by one token each and runs
    ``prefill_tokens`` prompt tokens, while ``kv_tokens`` tokens sit in the KV cache (all
    of them are read) and attention scores ``attn_pairs`` (query, key) pairs.
``kv_capacity_tokens``
    how many tokens of KV cache fit beside the weights.

Kinds: :class:`RooflinePerf` (default) and :class:`TablePerf` (measured points).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from sim.catalog import Gpu, Model
from sim.config import DeploymentConfig as _D
from sim.config.rules import INT_LIMIT
from sim.errors import InputError
from sim.perf.collectives import (
    allreduce_protocols,
    allreduce_time,
    link_bandwidth,
    nvls_time,
)
from sim.textfiles import csv_rows, read_text, unique_header


class PerfModel(Protocol):
    kv_capacity_tokens: int

    def step_time(self, decode_seqs: float, prefill_tokens: float, kv_tokens: float,
                  attn_pairs: float) -> float: ...

    def bytes_per_gpu(self, decode_seqs: float, prefill_tokens: float,
                      kv_tokens: float) -> float: ...

    def saturated_tok_s(self, mean_in: float, mean_out: float, max_seqs: int) -> float: ...


@dataclass(frozen=True)
class Deployment:
    """A model served on ``tp`` GPUs of one class at one precision (the defaults are the
    config schema's, :class:`sim.config.DeploymentConfig`)."""

    model: Model
    gpu: Gpu
    precision: str = str(_D.precision)
    kv_dtype: str = str(_D.kv_dtype)
    tp: int = _D.tp
    max_num_seqs: int = _D.max_num_seqs
    max_batched_tokens: int = _D.max_batched_tokens
    gpu_memory_utilization: float = _D.gpu_memory_utilization
    activation_reserve_gb: float = _D.activation_reserve_gb
    pipeline: bool = False  # the tp GPUs are pipeline stages (layer ranges), not tensor shards
    prefix_caching: bool = _D.prefix_caching
    block_size: int = _D.block_size
    admission: str = str(_D.admission)
    preemption: str = str(_D.preemption)
    swap_gb: float = _D.swap_gb
    host_cache_gb: float = _D.host_cache_gb

    def kv_bytes_per_token_per_gpu(self) -> float:
        """KV bytes of one token on each GPU: KV heads are split over tensor-parallel GPUs
        (replicated beyond their number), layers over pipeline stages."""
        shards = self.tp if self.pipeline else min(self.tp, self.model.kv_heads)
        return self.model.kv_bytes_per_token(self.kv_dtype) / shards

    def longest_request(self, kv_tokens: int) -> int:
        """The most prompt + output tokens one request may have on ``kv_tokens`` of KV: all of
        them under ``reserve``, which holds every output token, the last included; one more
        under ``paged``, whose sequence grows as it decodes and never stores its last token
        (it is never fed back): vLLM serves 992 + 1 tokens on 992 tokens of KV."""
        return kv_tokens + (self.admission == "paged")

    @property
    def label(self) -> str:
        par = " pipeline" if self.pipeline and self.tp > 1 else ""
        return f"{self.model.key} on {self.tp}x{self.gpu.key}{par} {self.precision}"


class RooflinePerf:
    """Iteration time from bytes moved and FLOPs done, each against an achieved peak.

    t = (max(weight_time, linear_time) + max(kv_time, attention_time) + step_overhead
         + layers x layer_overhead + sequences x seq_overhead + all_reduce_time) / runtime_speedup

    * two kinds of kernel, each on its own roofline, one after the other: the linear layers
      (GEMMs) read the weights once per iteration (for MoE, the experts the batch touches)
      and do 2 x active parameters FLOPs per token; attention reads every cached KV token
      and does 4 x layers x query width FLOPs per (query, key) pair. A large decode batch
      is compute-bound in its GEMMs while its attention is still memory-bound (the KV cache
      dwarfs the weights), and the two do not overlap: one roofline over the sum of bytes
      and FLOPs would hide whichever is shorter (until December 2026 the model did that,
      and the fit pulled the memory efficiency of the large-memory GPUs, whose batches are
      largest, down to 0.60-0.76 to make up for it);
    * bytes move at ``bandwidth x efficiency.memory`` (the fraction of peak a large
      streaming transfer reaches); the GEMMs run at ``peak(precision) x
      efficiency.compute``; attention math runs at the KV cache's precision (an FP4 model
      with an FP8 KV cache runs FP8 attention kernels), at that precision's peak where the
      GPU has one and the weights' otherwise, with the same efficiency;
    * fixed costs: a per-iteration overhead (scheduling) and a per-layer one (kernel
      launches and the gaps between small kernels). They are why a lone sequence sees only
      about half of peak bandwidth while a large batch streams near it;
    * a per-sequence cost (sampling, detokenising, bookkeeping for each sequence in the
      batch), which is why a GPU with twice the KV room does not decode twice as fast;
    * tensor parallelism splits weights, KV heads and FLOPs over ``tp`` GPUs and adds two
      all-reduces of the activations per layer (:func:`allreduce_time`: a latency that
      grows with the group and a transfer at the interconnect's achieved rate; where the
      catalog gives several protocols, the cheapest for the iteration's message). What does
      not shard stays whole on every GPU: the per-iteration, per-layer and per-sequence
      overheads, and KV heads beyond their number (replicated);
    * pipeline parallelism (``Deployment.pipeline``) gives each of the ``tp`` GPUs a range of
      layers instead. With ``tp`` micro-batches in flight (TensorRT-LLM's scheduling) every
      stage stays busy, so one iteration of the whole batch costs each GPU its share of the
      FLOPs and KV reads, but its weights are read once per micro-batch (``tp`` times);
      the activations cross each stage boundary once instead of two all-reduces per layer.
    """

    def __init__(self, dep: Deployment, runtime_speedup: float = 1.0):
        m, g, tp = dep.model, dep.gpu, dep.tp
        eff = g.efficiency_for(dep.precision)
        self.deployment = dep
        self.runtime_speedup = float(runtime_speedup)
        weight_bytes = m.weight_bytes(dep.precision)
        self.weight_bytes_per_gpu = weight_bytes / tp
        self.kv_bytes_per_token_per_gpu = dep.kv_bytes_per_token_per_gpu()
        self._bw = g.bandwidth_tbps * 1e12 * eff.memory
        self.peak_bandwidth = g.bandwidth_tbps * 1e12  # bytes/s of one GPU, the spec sheet's
        self._flops = g.peak_flops(dep.precision) * eff.compute
        attn_prec = dep.kv_dtype if dep.kv_dtype in g.tflops else dep.precision
        self._attn_flops = g.peak_flops(attn_prec) * eff.compute
        self._flops_per_token = 2.0 * m.active_params_b * 1e9 / tp
        self._flops_per_pair = 4.0 * m.layers * m.attn_heads * m.head_dim / tp
        self._overhead = g.step_overhead_s + m.layers * g.layer_overhead_s
        self._per_seq = g.seq_overhead_s
        # weights read per iteration: once per micro-batch with a pipeline (tp micro-batches)
        self._weight_reads = tp if dep.pipeline else 1
        if tp > 1 and dep.pipeline:
            # each micro-batch hands its activations to the next stage once: per iteration,
            # each GPU sends every token's hidden state once (BF16) to one peer, with tp
            # hand-offs, each paying the collective's fixed latency
            self._comm_fixed = tp * g.allreduce_latency_s
            self._comm_per_token = m.hidden * 2.0 / link_bandwidth(g, 2)
        elif tp > 1:
            # two all-reduces per layer (after attention and after the MLP) of every token's
            # hidden state in BF16: a fixed part per all-reduce and a part per token
            # (with several protocols, one such line each: the iteration takes the cheapest)
            # (NVLS with its pipeline fill is not a line: timed per iteration, _nvls)
            ways = allreduce_protocols(g, tp)
            if "nvls" in ways and g.allreduce_nvls_channels > 0:
                ways.remove("nvls")
                self._nvls = (g, tp, m.hidden * 2.0, link_bandwidth(g, tp), m.layers * 2)
            first, *alts = [self._comm_line(g, tp, m.layers * 2, m.hidden * 2.0, p) for p in ways]
            self._comm_fixed, self._comm_per_token = first
            self._comm_alts = tuple(alts)
        else:
            self._comm_fixed = 0.0
            self._comm_per_token = 0.0
        # MoE: only the experts that some token of the batch routes to are read.
        if m.experts > 0 and m.expert_params_b > 0:
            frac = m.expert_params_b / m.params_b
            self._expert_bytes = self.weight_bytes_per_gpu * frac
            self._dense_bytes = self.weight_bytes_per_gpu - self._expert_bytes
            self._expert_miss = 1.0 - m.experts_per_token / m.experts
        else:
            self._expert_bytes = 0.0
            self._dense_bytes = self.weight_bytes_per_gpu
            self._expert_miss = 1.0
        free = (g.memory_gb * 1e9 * dep.gpu_memory_utilization - self.weight_bytes_per_gpu
                - dep.activation_reserve_gb * 1e9)
        cap = int(free / self.kv_bytes_per_token_per_gpu) if free > 0 else 0
        # prefill-only models (embeddings, rerankers) keep no KV cache between iterations
        self.kv_capacity_tokens = max(cap, 0) if not m.prefill_only else max(cap, 1 << 30)
        self.kv_tokens_fit = max(cap, 0)  # what the memory holds (the build layer checks it)

    # the other protocols' (fixed, per token): Simple, NVLS where the GPU and group have them
    _comm_alts: tuple[tuple[float, float], ...] = ()
    _nvls: tuple | None = None  # (gpu, tp, bytes a token, rate, all-reduces an iteration)

    @staticmethod
    def _comm_line(g: Gpu, tp: int, count: int, token_bytes: float,
                   protocol: str) -> tuple[float, float]:
        """(seconds, seconds per token) of ``count`` all-reduces of one protocol."""
        fixed = allreduce_time(g, tp, 0.0, protocol)
        return count * fixed, count * (allreduce_time(g, tp, token_bytes, protocol) - fixed)

    def step_time(self, decode_seqs: float, prefill_tokens: float, kv_tokens: float,
                  attn_pairs: float) -> float:
        tokens = decode_seqs + prefill_tokens
        if self._expert_bytes == 0.0:
            wb = self._dense_bytes
        else:
            wb = self._dense_bytes + self._expert_bytes * (
                1.0 - self._expert_miss ** (tokens if tokens > 1.0 else 1.0))
        # the linear layers (weights, GEMM FLOPs), then attention (KV reads, its FLOPs)
        lin_mem = wb * self._weight_reads / self._bw
        lin_comp = tokens * self._flops_per_token / self._flops
        att_mem = kv_tokens * self.kv_bytes_per_token_per_gpu / self._bw
        att_comp = attn_pairs * self._flops_per_pair / self._attn_flops
        t = ((lin_mem if lin_mem > lin_comp else lin_comp) + (att_mem if att_mem > att_comp else att_comp)
             + self._overhead + self._per_seq * (decode_seqs + (1.0 if prefill_tokens else 0.0)))
        if self._comm_fixed:
            comm = self._comm_fixed + tokens * self._comm_per_token
            for fixed, per_token in self._comm_alts:
                alt = fixed + tokens * per_token
                if alt < comm:
                    comm = alt
            if self._nvls is not None:
                g, tp, token_bytes, rate, count = self._nvls
                alt = count * nvls_time(g, tp, tokens * token_bytes, rate)
                if alt < comm:
                    comm = alt
            t += comm
        return t / self.runtime_speedup

    def bytes_per_gpu(self, decode_seqs: float, prefill_tokens: float, kv_tokens: float) -> float:
        """HBM bytes one GPU reads in one iteration: the weights (the experts some token
        routes to) and the KV cache, as :meth:`step_time` counts them."""
        tokens = decode_seqs + prefill_tokens
        wb = self._dense_bytes
        if self._expert_bytes:
            wb += self._expert_bytes * (1.0 - self._expert_miss ** (tokens if tokens > 1.0 else 1.0))
        return wb * self._weight_reads + kv_tokens * self.kv_bytes_per_token_per_gpu

    def saturated_tok_s(self, mean_in: float, mean_out: float, max_seqs: int) -> float:
        """Output tokens per second of one replica flat out on requests of this mean shape:
        decode-only iterations of ``B`` sequences, ``B`` = the batch limit or what the KV
        cache holds at ``mean_in + mean_out`` tokens each, every sequence at the mean decode
        context ``mean_in + mean_out / 2``. Prefill is not counted, so real saturation
        delivers somewhat less (the ratio to it is a lower bound of how loaded a replica is)."""
        foot = max(mean_in + mean_out, 1.0)
        b = max(1, min(int(max_seqs), int(self.kv_capacity_tokens // foot)))
        ctx = mean_in + mean_out / 2.0
        return b / self.step_time(b, 0, b * ctx, b * (ctx + 1.0))


MAX_STEP_S = 3600.0  # assumption: no measured iteration takes an hour (plausibility bound)
# assumption: no iteration that does work is faster than a microsecond (a CUDA kernel launch
# alone takes a few); a table of picosecond steps ran with every TPOT at a clamp of 1e-9 s
MIN_STEP_S = 1e-6


# a number as a perf table writes one (the non-finite words refused by the range check)
_NUMBER = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)", re.ASCII | re.I)


class TablePerf:
    """Measured iteration times on a (decode_seqs x prefill_tokens) grid, interpolated.

    The CSV has columns ``decode_seqs,prefill_tokens,step_time_s`` and covers a full grid
    (every decode_seqs value with every prefill_tokens value). Between grid points the time
    is bilinear. Beyond the grid's largest count on an axis it grows linearly with the edge
    cells' slope along that axis (beyond both, the two growths add: the edge cell's cross
    term, extrapolated, could turn a slope negative), so a time that falls as either count
    grows is refused (more work would grow cheaper). Below the grid's smallest count on an
    axis the time is that count's (flat: extrapolated down, a table starting at 10 sequences
    gave a negative time at one, which was clamped to 1e-9 s unsaid until December 2026).
    KV and attention terms are whatever the measurement contained.
    """

    def __init__(self, path: str | Path, kv_capacity_tokens: int, runtime_speedup: float = 1.0):
        from scipy.interpolate import RegularGridInterpolator

        path = Path(path)
        rows, first_line = [], {}
        # csv_rows: quoting, any line ends, blank rows (spaces, or a spreadsheet's row of
        # empty fields) skipped with their lines counted, a row of another length refused
        header, lines, cells = csv_rows(read_text(path, "perf table"), path)
        need = {"decode_seqs", "prefill_tokens", "step_time_s"}
        unique_header(header, path, header.line)
        if not need <= set(header):
            raise InputError(f"needs columns {sorted(need)}, has {header}", path=str(path), line=header.line)
        col = {k: header.index(k) for k in need}
        for i, cell in zip(lines, cells):
            row = {k: cell[j] for k, j in col.items()}
            try:  # ASCII digits: float() also took "2_56" and Arabic-Indic digits, unsaid
                vals = tuple(float(row[k]) if _NUMBER.fullmatch(row[k].strip()) else float("x")
                             for k in ("decode_seqs", "prefill_tokens", "step_time_s"))
            except (TypeError, ValueError):
                raise InputError("non-numeric value (numbers in ASCII digits)", path=str(path),
                                 line=i) from None
            if not all(math.isfinite(v) and v >= 0 for v in vals):
                raise InputError("values must be finite and >= 0", path=str(path), line=i)
            if vals[0] > INT_LIMIT or vals[1] > INT_LIMIT or vals[2] > MAX_STEP_S:
                raise InputError(f"decode_seqs and prefill_tokens must be at most {INT_LIMIT}"
                                 f" and step_time_s at most {MAX_STEP_S:g} s", path=str(path),
                                 line=i)
            if vals[0] % 1 or vals[1] % 1:  # counts: a fraction was interpolated over, unsaid
                raise InputError(f"decode_seqs and prefill_tokens are counts: whole numbers, "
                                 f"got {row['decode_seqs'].strip()}, {row['prefill_tokens'].strip()}",
                                 path=str(path), line=i)
            if not vals[2] >= MIN_STEP_S and (vals[0] > 0 or vals[1] > 0):
                raise InputError(f"an iteration that does work must take time: step_time_s "
                                 f"must be at least {MIN_STEP_S:g} s where decode_seqs or "
                                 f"prefill_tokens is > 0", path=str(path), line=i)
            if vals[:2] in first_line:
                raise InputError(f"the point decode_seqs={vals[0]:g}, prefill_tokens="
                                 f"{vals[1]:g} is given twice (first on line "
                                 f"{first_line[vals[:2]]})", path=str(path), line=i)
            first_line[vals[:2]] = i
            rows.append(vals)
        if not rows:
            raise InputError("perf table has no rows", path=str(path))
        arr = np.array(rows)
        ds, ps = np.unique(arr[:, 0]), np.unique(arr[:, 1])
        grid = np.full((ds.size, ps.size), np.nan)
        for d, p, t in rows:
            grid[np.searchsorted(ds, d), np.searchsorted(ps, p)] = t
        if np.isnan(grid).any():
            d, p = np.argwhere(np.isnan(grid))[0]
            raise InputError(f"perf table must cover every decode_seqs x prefill_tokens pair; "
                             f"no row has decode_seqs={ds[d]:g}, prefill_tokens={ps[p]:g}",
                             path=str(path))
        if ds.size < 2 or ps.size < 2:
            raise InputError("perf table needs at least two values on each axis", path=str(path))
        for axis, name in ((0, "decode_seqs"), (1, "prefill_tokens")):
            falls = np.argwhere(np.diff(grid, axis=axis) < 0)
            if falls.size:  # extrapolated linearly, more work would cost less, down to nothing
                d, p = falls[0]
                d2, p2 = (d + 1, p) if axis == 0 else (d, p + 1)
                raise InputError(
                    f"step_time_s falls as {name} grows: {grid[d2, p2]:g} s at decode_seqs="
                    f"{ds[d2]:g}, prefill_tokens={ps[p2]:g}, {grid[d, p]:g} s at {name}="
                    f"{(ds[d] if axis == 0 else ps[p]):g} (line {first_line[(ds[d], ps[p])]}); "
                    "the table is interpolated and extrapolated linearly, so more work would "
                    "take less time", path=str(path), line=first_line[(ds[d2], ps[p2])])
        self._interp = RegularGridInterpolator((ds, ps), grid)
        self._ds, self._ps = ds, ps
        # the last cell's slope along each axis, at each grid value of the other (>= 0: the
        # check above)
        self._slope_d = (grid[-1, :] - grid[-2, :]) / (ds[-1] - ds[-2])
        self._slope_p = (grid[:, -1] - grid[:, -2]) / (ps[-1] - ps[-2])
        self.kv_capacity_tokens = int(kv_capacity_tokens)
        self.runtime_speedup = float(runtime_speedup)
        self._cache: dict[tuple[float, float], float] = {}

    def step_time(self, decode_seqs: float, prefill_tokens: float, kv_tokens: float,
                  attn_pairs: float) -> float:
        k = (decode_seqs, prefill_tokens)
        t = self._cache.get(k)
        if t is None:
            t = self._time(float(decode_seqs), float(prefill_tokens))
            if len(self._cache) < 100_000:
                self._cache[k] = t
        return t / self.runtime_speedup

    def _time(self, d: float, p: float) -> float:
        """The table's time at ``d`` decoding sequences and ``p`` prefill tokens (the class
        docstring's rule; at least the grid's smallest time, so > 0 for any work)."""
        ds, ps = self._ds, self._ps
        dc, pc = min(max(d, ds[0]), ds[-1]), min(max(p, ps[0]), ps[-1])
        t = float(self._interp([[dc, pc]])[0])
        if d > ds[-1]:
            t += (d - ds[-1]) * float(np.interp(pc, ps, self._slope_d))
        if p > ps[-1]:
            t += (p - ps[-1]) * float(np.interp(dc, ds, self._slope_p))
        return t

    peak_bandwidth = float("nan")  # a measured table says nothing about bytes

    def bytes_per_gpu(self, decode_seqs: float, prefill_tokens: float, kv_tokens: float) -> float:
        return float("nan")

    def saturated_tok_s(self, mean_in: float, mean_out: float, max_seqs: int) -> float:
        """As :meth:`RooflinePerf.saturated_tok_s`, from the table (no KV limit known here
        beyond the capacity given)."""
        foot = max(mean_in + mean_out, 1.0)
        b = max(1, min(int(max_seqs), int(self.kv_capacity_tokens // foot)))
        return b / self.step_time(b, 0, 0.0, 0.0)
