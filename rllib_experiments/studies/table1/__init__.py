"""The reproduction of the paper's Table I and Figures 1-2: the report (table and curves)."""
