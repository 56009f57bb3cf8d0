"""Graph models on the user-item graph: GCN, NGCF (Wang et al., SIGIR 2019) and LightGCN (He et al., SIGIR 2020)."""
