"""The learned actors shipped with the environment (:mod:`dsa_pettingzoo.pretrained`), built from
trial records of the studies: ``python -m rllib_experiments pretrained`` (:mod:`.build`)."""
