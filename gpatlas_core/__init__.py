"""G-P Atlas core: data in and out (``io``), computing (``tl``), drawing (``pl``).

The core never imports streamlit; the app and the CLI are thin layers over it.
"""

from .config import GPAtlasConfig, ModelConfig, TrainConfig, preset
from .io import DataError, Dataset, Truth
from .sim import SimulationConfig, simulate

__all__ = [
    "DataError",
    "Dataset",
    "GPAtlasConfig",
    "ModelConfig",
    "SimulationConfig",
    "TrainConfig",
    "Truth",
    "preset",
    "simulate",
]
__version__ = "0.1.0"
