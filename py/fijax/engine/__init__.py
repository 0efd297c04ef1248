"""Deep-learning engine: flax.nnx networks, training, tiled prediction, Monte-Carlo dropout."""
