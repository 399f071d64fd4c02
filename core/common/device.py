"""One place that picks the compute device and dtype.

ZeroGPU (Hugging Face Spaces) attaches a GPU only inside functions decorated with
`spaces.GPU`; outside them CUDA looks absent. So the device is asked for at call time,
never frozen at import. torch is imported when a device is first asked for, so a page that
only describes the lab builds without it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Environment override, e.g. SSL_LAB_DEVICE=cpu to force CPU on a GPU machine.
ENV_DEVICE = "SSL_LAB_DEVICE"


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cuda" | "mps" | "cpu"
    name: str  # human-readable, e.g. "NVIDIA H100 80GB HBM3" or "CPU (2 threads)"
    dtype: torch.dtype  # preferred compute dtype for inference on this device


def on_zero_gpu() -> bool:
    """True on a Hugging Face ZeroGPU Space (GPU attached per call)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true")


def pick_device() -> torch.device:
    """Returns the best available torch device, honouring SSL_LAB_DEVICE."""
    import torch

    forced = os.environ.get(ENV_DEVICE)
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_info() -> DeviceInfo:
    """Describes the device handlers will run on (for the UI badge and benchmarks)."""
    import torch

    dev = pick_device()
    if dev.type == "cuda":
        # bf16 where the hardware has it (Ampere+); fp16 otherwise.
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return DeviceInfo("cuda", torch.cuda.get_device_name(dev), dtype)
    if dev.type == "mps":
        return DeviceInfo("mps", "Apple GPU (MPS)", torch.float16)
    if on_zero_gpu():
        return DeviceInfo("cpu", "ZeroGPU (GPU attached per request)", torch.float32)
    threads = torch.get_num_threads()
    return DeviceInfo("cpu", f"CPU ({threads} thread{'' if threads == 1 else 's'})",
                      torch.float32)


def machine_info() -> dict:
    """Where a run was made, for result and benchmark files: device name, CPU count, torch
    threads, platform, Python and torch versions."""
    import platform

    import torch

    return {"device": device_info().name, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__}
