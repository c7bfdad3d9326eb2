"""G-P Atlas core: data in and out (``io``), computing (``tl``), drawing (``pl``).

The core never imports streamlit; the app and the CLI are thin layers over it.
"""

from .config import GPAtlasConfig, ModelConfig, TrainConfig, preset
from .io import Dataset, DataError, Truth

__all__ = ["DataError", "Dataset", "GPAtlasConfig", "ModelConfig", "TrainConfig", "Truth", "preset"]
__version__ = "0.1.0"
