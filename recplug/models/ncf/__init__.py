"""Neural collaborative filtering (He et al., WWW 2017): GMF, MLP and NeuMF."""
