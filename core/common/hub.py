"""Hugging Face Hub snapshots that fail fast, with a message naming what to use instead.

A model that is neither in the local hub cache nor reachable must never hang a request: the
hub is probed with a short TCP connect before any download is tried.

    folder = snapshot("google-bert/bert-base-uncased", ["*.json", "*.safetensors"],
                      name="bert-base-uncased", alternative="use 'all-minilm-l6-v2' instead")
"""
from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

from core.common.errors import ModelUnavailable

# Seconds to wait for the hub before declaring it unreachable.
HUB_PROBE_TIMEOUT_S = 3.0


def hub_reachable(timeout_s: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """True when the Hugging Face Hub endpoint accepts a TCP connection within timeout_s."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def snapshot(repo: str, patterns: list[str], *, name: str, alternative: str,
             revision: str | None = None, cache_dir: str | None = None) -> str:
    """The repo's files from the local cache, downloading only when the hub answers.

    Args:
        repo: hub repo id. patterns: the files to fetch (allow_patterns).
        name: the registry name the user chose. alternative: what to do instead, a clause
            such as "use the embedded model 'x' instead".
        revision: branch or PR ref (None = main). cache_dir: hub cache (None = default).
    Returns: the local snapshot folder.
    Raises:
        ModelUnavailable: not cached and the hub unreachable, or the download failed.
    """
    from huggingface_hub import snapshot_download  # looked up at call time (tests patch it)

    try:
        return snapshot_download(repo, allow_patterns=patterns, local_files_only=True,
                                 cache_dir=cache_dir, revision=revision)
    except Exception:  # not cached: go to the hub only if it answers right now
        pass
    if not hub_reachable():
        raise ModelUnavailable(
            f"{name} ({repo}) is not in the local Hugging Face cache and the Hub cannot be "
            f"reached: {alternative}, or connect and try again.")
    try:
        return snapshot_download(repo, allow_patterns=patterns, cache_dir=cache_dir,
                                 revision=revision)
    except Exception as exc:
        raise ModelUnavailable(f"downloading {repo} failed ({type(exc).__name__}: {exc}); "
                               f"{alternative}.") from exc
