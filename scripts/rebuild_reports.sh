#!/usr/bin/env bash
# Rebuild every committed report from its records (no training), as each report header says.
# Run from the repository root; then `git status` shows what changed.
set -euo pipefail
python -m rllib_experiments pruning_study --report-only --allow-mixed-commits
python -m rllib_experiments pruning_study --report-only --seeds 0 1 2 3 4 --allow-mixed-commits
python -m rllib_experiments reproduce --report-only --allow-mixed-commits
python -m rllib_experiments scale --report-only --output docs/results/raw/scale --allow-mixed-commits
python -m rllib_experiments scale --report-only --output docs/results/raw/scale_bf16 --reference docs/results/raw/scale --allow-mixed-commits
python -m rllib_experiments scale --report-only --output docs/results/raw/scale_bf16_difference --reference docs/results/raw/scale_bf16_longer --allow-mixed-commits
python -m rllib_experiments scale --report-only --output docs/results/raw/scale_bf16_difference_300 --reference docs/results/raw/scale --allow-mixed-commits
python -m rllib_experiments scale --report-only --output docs/results/raw/scale_bf16_longer --reference docs/results/raw/scale_bf16 --allow-mixed-commits
python -m rllib_experiments scale --report-only --output docs/results/raw/scale_fix_longer --reference docs/results/raw/scale --allow-mixed-commits
python -m rllib_experiments scale_goal --allow-mixed-commits
