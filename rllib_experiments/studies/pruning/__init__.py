"""The pruning study: variants of the pruning rows over many seeds; its report, sparsity answers, figures."""
