"""The scale study: ours and the decentralized baselines at N = 10 ... 100 users; statistics, report, figures, the goal across study folders."""
