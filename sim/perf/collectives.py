"""Collectives of a tensor-parallel replica: the time of one all-reduce over a group of GPUs
of one class, by the protocols NCCL has (ring LL and Simple, NVLink SHARP), from the catalog's
interconnect figures (README, "Tensor parallelism")."""

from __future__ import annotations

from sim.catalog import Gpu


def link_bandwidth(gpu: Gpu, gpus: int) -> float:
    """Bytes/s one GPU of a group of ``gpus`` sends to the others during a collective: the
    interconnect's line rate in one direction (``interconnect_gbps``) at the fraction a
    collective reaches (``allreduce_efficiency``: protocol overhead). Behind a switch
    (NVSwitch, ``interconnect_links: 0``) or on a shared bus (PCIe) every GPU reaches its
    full rate whatever the group size; in a direct mesh of ``n`` links (MI300X Infinity
    Fabric: 7) a GPU reaches its ``gpus - 1`` peers over that many links only."""
    rate = gpu.interconnect_gbps * 1e9 * gpu.allreduce_efficiency
    if gpu.interconnect_links > 0:
        rate *= min(gpus - 1, gpu.interconnect_links) / gpu.interconnect_links
    return rate


def allreduce_time(gpu: Gpu, gpus: int, message_bytes: float, protocol: str = "") -> float:
    """Seconds of one all-reduce of ``message_bytes`` over ``gpus`` GPUs, ring schedule
    (reduce-scatter then all-gather): ``2 (p - 1)`` steps, each paying a step latency
    (``allreduce_step_latency_s``: a hop and the flag exchange) and moving ``1/p`` of the
    message, plus a fixed cost per collective (``allreduce_latency_s``: the kernel and the
    synchronisation of the group)::

        t = latency + 2 (p - 1) step_latency + 2 (p - 1) / p * bytes / link_bandwidth(p)

    With ``allreduce_ll_fraction`` below 1 the GPU has two protocols, as NCCL does: that
    low-latency one (LL: data and flag in one store, so it moves data at that fraction of
    the rate) and a bulk one (Simple: chunks behind a flag, the full rate, a larger fixed
    cost ``allreduce_simple_latency_s`` and step cost ``allreduce_simple_step_latency_s``).
    With ``allreduce_nvls_min_gpus`` > 0, a group of at least that many GPUs also has NVLink
    SHARP (NVLS: the switch reduces, each GPU sends its share once and receives the result
    once): a fixed cost ``allreduce_nvls_latency_s`` whatever the group, and the message at
    ``rate x allreduce_nvls_efficiency x p / (p + 1)`` (a GPU's port carries the message
    and ``1/p`` of it more, its own share going out and coming back through the switch).
    The all-reduce takes the fastest protocol the group has, as NCCL's tuner picks the one
    of least modelled time; ``protocol`` ("ll", "simple" or "nvls") asks for one of them."""
    if gpus <= 1:
        return 0.0
    steps = 2 * (gpus - 1)
    rate = link_bandwidth(gpu, gpus)
    share = steps / gpus * message_bytes  # what each GPU sends over a ring
    times = {
        "ll": (gpu.allreduce_latency_s + steps * gpu.allreduce_step_latency_s
               + share / (rate * gpu.allreduce_ll_fraction)),
        "simple": (gpu.allreduce_simple_latency_s + steps * gpu.allreduce_simple_step_latency_s
                   + share / rate),
        "nvls": nvls_time(gpu, gpus, message_bytes, rate),
    }
    if protocol:
        return times[protocol]
    return min(times[p] for p in allreduce_protocols(gpu, gpus))


NVLS_CHUNK_BYTES = 128 * 1024  # NCCL_NVLS_CHUNKSIZE default (src/transport/nvls.cc)
NVLS_STAGES = 3  # scatter, switch reduce + multicast, gather (src/device/all_reduce.h)


def nvls_chunk_bytes(gpu: Gpu, gpus: int, message_bytes: float) -> int:
    """The NVLS chunk NCCL cuts a message of ``message_bytes`` into (src/enqueue.cc): 128 KiB,
    halved to 64, 32 and 16 KiB below 64, 8 and 2 chunks for each channel and GPU."""
    chunk, ops = NVLS_CHUNK_BYTES, gpu.allreduce_nvls_channels * gpus
    for loops, floor in ((64, 65536), (8, 32768), (2, 16384)):
        if message_bytes < loops * ops * chunk and chunk > floor:
            chunk = floor
    return chunk


def nvls_time(gpu: Gpu, gpus: int, message_bytes: float, rate: float) -> float:
    """NVLS: the fixed cost, the message at its rate, and, with ``allreduce_nvls_channels``
    > 0, the fill of each channel's three-stage pipeline: the first chunk of every GPU
    (``channels x gpus`` chunks, or the whole message if smaller) crosses the two stages
    before the one that sets the rate without overlap."""
    nvls_rate = rate * gpu.allreduce_nvls_efficiency * gpus / (gpus + 1)
    fill = 0.0
    if gpu.allreduce_nvls_channels > 0:
        loop = gpu.allreduce_nvls_channels * gpus * nvls_chunk_bytes(gpu, gpus, message_bytes)
        fill = (NVLS_STAGES - 1) * min(message_bytes, loop)
    return gpu.allreduce_nvls_latency_s + (message_bytes + fill) / nvls_rate


def allreduce_protocols(gpu: Gpu, gpus: int) -> list[str]:
    """The protocols a group of ``gpus`` GPUs of this class may all-reduce with: LL always,
    Simple where ``allreduce_ll_fraction`` < 1, NVLink SHARP from ``allreduce_nvls_min_gpus``."""
    return (["ll"] + (["simple"] if gpu.allreduce_ll_fraction < 1.0 else [])
            + (["nvls"] if 0 < gpu.allreduce_nvls_min_gpus <= gpus else []))
