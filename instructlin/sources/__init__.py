"""Where embeddings come from: text datasets, encoders, the embedding cache and precomputed packs."""
