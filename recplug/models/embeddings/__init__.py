"""Item-embedding models learnt from co-occurrence (word2vec-style)."""
