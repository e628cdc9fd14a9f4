"""The command-line tools of ``dsa_pettingzoo``: flag parsing only, over the library.

Started as ``python -m dsa_pettingzoo COMMAND`` (:mod:`dsa_pettingzoo.__main__`); ``evaluate``
is also the console script ``dsa-evaluate``.
"""
