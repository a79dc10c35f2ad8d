"""Big-file I/O: ``.npy`` and Parquet embeddings read, checked and mapped block by block, CSV written safely."""
