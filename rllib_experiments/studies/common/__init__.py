"""What every study shares: one trial of a Table I row (trials), the Tune grid of trials, budgets, statistics over seeds, figures."""
