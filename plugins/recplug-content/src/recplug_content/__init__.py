"""recplug-content: content-based models for recplug (``text``, ``clip``).

Items are embedded once per dataset by a frozen encoder (a sentence-transformers model or
CLIP) and cached on disk; a user's scores are the similarities between the item embeddings
and a profile of the user's history (:mod:`recplug_content.model`).
"""

__version__ = "0.1.0"
