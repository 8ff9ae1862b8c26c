"""The adapters this toolkit implements, by embodiment name or Cosmos 3 domain name (see ``domains``).

Domains without an adapter can still be driven with model-space actions.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from cosmos_robotics.embodiments.av import make_av_adapter
from cosmos_robotics.embodiments.base import EmbodimentAdapter
from cosmos_robotics.embodiments.domains import DOMAINS
from cosmos_robotics.embodiments.droid import make_droid_adapter
from cosmos_robotics.embodiments.droid_joint import make_droid_joint_adapter
from cosmos_robotics.embodiments.umi import make_umi_adapter
from cosmos_robotics.errors import UnknownEmbodimentError

ADAPTER_FACTORIES: dict[str, Callable[[], EmbodimentAdapter]] = {
    "av": make_av_adapter,
    "droid": make_droid_adapter,
    "droid_joint": make_droid_joint_adapter,
    "umi": make_umi_adapter,
}
# A domain name resolves to its default adapter (droid_lerobot -> the base model's end-effector contract).
DOMAIN_DEFAULT_ADAPTER = {d.name: d.adapters[0] for d in DOMAINS if d.adapters}


def get_adapter(embodiment: str) -> EmbodimentAdapter:
    """Adapter by embodiment name (``av``, ``droid``, ``droid_joint``, ``umi``) or by Cosmos 3 domain name."""
    key = DOMAIN_DEFAULT_ADAPTER.get(embodiment, embodiment) if isinstance(embodiment, str) else None
    if key not in ADAPTER_FACTORIES:
        raise UnknownEmbodimentError(str(embodiment)[:60],
                                     sorted(ADAPTER_FACTORIES) + sorted(DOMAIN_DEFAULT_ADAPTER))
    return _make_adapter(key)


@cache
def _make_adapter(key: str) -> EmbodimentAdapter:
    return ADAPTER_FACTORIES[key]()


def available_adapters() -> list[str]:
    return sorted(ADAPTER_FACTORIES)
