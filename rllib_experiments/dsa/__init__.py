"""IAGC on the DSA environment: batched sampling on the vectorised simulator, its rollout, and the files of exported actors."""
