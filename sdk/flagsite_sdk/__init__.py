"""flagsite's Python SDK. The evaluation engine lives in `flagsite_sdk.engine`."""

__version__ = "0.1.0"

# The client API (docs/sdk.md). Imported on first use, so `import flagsite_sdk.engine` (what the
# server does) stays free of the client's threads-and-HTTP modules.
__all__ = ["Client", "ClientStats", "Evaluation", "TestClient", "prompt_hash"]

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # What type checkers see: without these, `from flagsite_sdk import Client` in the caller's
    # code is typed by __getattr__'s `object` (not callable, no attributes).
    from .client import Client
    from .engine import Evaluation
    from .events import prompt_hash
    from .stats import ClientStats
    from .testing import TestClient


def __getattr__(name: str) -> object:
    if name == "Client":
        from .client import Client

        return Client
    if name == "ClientStats":
        from .stats import ClientStats

        return ClientStats
    if name == "Evaluation":
        from .engine import Evaluation

        return Evaluation
    if name == "TestClient":
        from .testing import TestClient

        return TestClient
    if name == "prompt_hash":
        from .events import prompt_hash

        return prompt_hash
    raise AttributeError(f"module 'flagsite_sdk' has no attribute {name!r}")
