"""Built-in models, registered under the ``recplug.models`` entry points like any plugin.

========  =====================================  =======================================
name      class                                  idea
========  =====================================  =======================================
pop       :class:`~recplug.models.pop.Popularity`  distinct users per item, same for all
itemknn   :class:`~recplug.models.itemknn.ItemKNN` shrunk item-item cosine, top-k neighbours
ease      :class:`~recplug.models.ease.EASE`       closed-form linear autoencoder (Steck 2019)
bpr       :class:`~recplug.models.bpr.BPR`         matrix factorisation, BPR loss (Rendle 2009)
sasrec    :class:`~recplug.models.sasrec.SASRec`   self-attentive next-item model (Kang 2018)
========  =====================================  =======================================

Import a model from its own module; this package imports nothing heavy.
"""
