"""The pipeline and its evaluation: stages (split, fit, score, time), their compositions, and the record."""
