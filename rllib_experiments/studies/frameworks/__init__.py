"""The frameworks study: BenchMARL's MAPPO and IPPO, recurrent (GRU) and not (MLP), on the DSA
environment with the training budget of Table I's IAGC-PPO rows, evaluated with the protocol
of every baseline (docs/frameworks.md). Needs the ``[benchmarl]`` extra."""
