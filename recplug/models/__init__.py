"""Built-in models, registered under the ``recplug.models`` entry points like any plugin.

They live in family folders: ``baselines`` (pop, itemknn, ease), ``mf`` (bpr), ``ncf`` (gmf,
mlp, neumf), ``autoencoders`` (autoencoder, autorec, autorec-rating, cdae, multdae, multvae),
``embeddings`` (item2vec), ``graph`` (gcn, ngcf, lightgcn), ``rating`` (baseline, svd, svdpp,
mf) and ``sequential`` (sasrec, rnn, seq2seq, attn, narm, gru4rec, bert4rec);
``recplug models`` and the README's "Built-in models" table list them with their classes.

Import a model from its own module; this package imports nothing heavy. The scaffold
for new models (built-in or plugin) is public here, imported on first use:
:class:`SavedModel` (save/load with a JSON header), :class:`ArrayModel` (non-torch models
whose fitted state is named arrays), :class:`TorchModel` (the torch fit skeleton) and
:class:`TorchFactorModel` (dot-product models with declared factors) and
:class:`SequenceEncoderModel` (a history -> one vector per user, scored against item vectors).
"""

_SCAFFOLD = {"SavedModel": "recplug.models._files", "ArrayModel": "recplug.models._arrays",
             "TorchModel": "recplug.models._torch",
             "TorchFactorModel": "recplug.models._factors",
             "SequenceEncoderModel": "recplug.models.sequential._encoder"}
__all__ = sorted(_SCAFFOLD)


def __getattr__(name: str):
    if name in _SCAFFOLD:
        import importlib

        return getattr(importlib.import_module(_SCAFFOLD[name]), name)
    raise AttributeError(f"module 'recplug.models' has no attribute {name!r}")
