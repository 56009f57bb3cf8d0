"""Autoencoders over user rows: autoencoder, autorec, cdae, multdae, multvae."""
