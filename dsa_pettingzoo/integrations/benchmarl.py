"""The DSA environment as a BenchMARL task (TorchRL's ``PettingZooWrapper``, parallel API).

>>> from benchmarl.algorithms import MappoConfig
>>> from benchmarl.experiment import Experiment, ExperimentConfig
>>> from benchmarl.models import MlpConfig
>>> from dsa_pettingzoo.integrations.benchmarl import DSATask
>>> task = DSATask.A.get_task()                      # setup A; or get_task({"num_users": 3, ...})
>>> Experiment(task=task, algorithm_config=MappoConfig.get_from_yaml(),
...            model_config=MlpConfig.get_from_yaml(), critic_model_config=MlpConfig.get_from_yaml(),
...            seed=0, config=ExperimentConfig.get_from_yaml()).run()

The members of :class:`DSATask` are the setups of :data:`dsa_pettingzoo.SETUPS`; a task's
config holds the environment's keyword arguments (those of
:func:`dsa_pettingzoo.make_config`) on top of its setup. All N users form one group,
``"agents"``, so BenchMARL's ``share_policy_params`` is parameter sharing across users. The
global ``state()`` travels as the root key ``"state"``: critics that take a global state
(MAPPO's centralised critic, QMIX's mixer) are given it, decentralised ones (IPPO) ignore it.
Actions are categorical (``Discrete(K + 1)``); there is no action mask. The environment's
termination after ``horizon`` slots is BenchMARL's episode end (``max_steps``).

Needs the ``[benchmarl]`` extra (benchmarl, torchrl, tensordict).
"""

from __future__ import annotations

import functools

from benchmarl.environments.common import Task, TaskClass
from torchrl.data import Composite
from torchrl.envs import EnvBase, PettingZooWrapper

from ..config import make_config
from ..env import parallel_env

#: The name of the one agent group (BenchMARL's logs say ``agents/...``).
GROUP = "agents"


def make_torchrl_env(config: dict, seed: int | None = None, device="cpu") -> PettingZooWrapper:
    """A TorchRL env of one ParallelEnv built with the keyword arguments ``config``."""
    env = parallel_env(**config)
    return PettingZooWrapper(
        env=env,
        return_state=True,
        group_map={GROUP: list(env.possible_agents)},
        categorical_actions=True,
        use_mask=False,
        seed=seed,
        device=device,
        done_on_any=False,
    )


class DSATaskClass(TaskClass):
    """A BenchMARL task: the DSA environment with the keyword arguments in ``config``."""

    def __init__(self, name: str, config: dict | None):
        config = dict(config or {})
        make_config(**config)  # bad keyword arguments fail here, naming the argument
        super().__init__(name=name, config=config)

    def get_env_fun(self, num_envs, continuous_actions, seed, device):
        # a partial of a module-level function (not a lambda): BenchMARL may pickle it
        return functools.partial(make_torchrl_env, dict(self.config), seed, device)

    def supports_continuous_actions(self) -> bool:
        return False

    def supports_discrete_actions(self) -> bool:
        return True

    def has_render(self, env: EnvBase) -> bool:
        return False

    def max_steps(self, env: EnvBase) -> int:
        return make_config(**self.config).horizon

    def group_map(self, env: EnvBase) -> dict[str, list[str]]:
        return env.group_map

    def _group_keys(self, env: EnvBase, keep: str) -> Composite | None:
        """The observation spec with only ``(group, keep)`` per group (None when empty)."""
        spec = env.observation_spec.clone()
        if "state" in spec.keys():
            del spec["state"]
        for group in self.group_map(env):
            for key in list(spec[group].keys()):
                if key != keep:
                    del spec[group][key]
            if spec[group].is_empty():
                del spec[group]
        return None if spec.is_empty() else spec

    def observation_spec(self, env: EnvBase) -> Composite:
        return self._group_keys(env, "observation")

    def info_spec(self, env: EnvBase) -> Composite | None:
        return self._group_keys(env, "info")

    def action_mask_spec(self, env: EnvBase) -> Composite | None:
        return None

    def state_spec(self, env: EnvBase) -> Composite | None:
        return Composite({"state": env.observation_spec["state"].clone()})

    def action_spec(self, env: EnvBase) -> Composite:
        return env.full_action_spec

    @staticmethod
    def env_name() -> str:
        return "dsa"


class DSATask(Task):
    """The setups as BenchMARL tasks: ``DSATask.A.get_task(config)`` is setup A with ``config``
    (any keyword arguments of :func:`dsa_pettingzoo.make_config`) on top."""

    A = None
    B = None
    C = None

    @staticmethod
    def associated_class():
        return DSATaskClass

    def get_task(self, config: dict | None = None) -> DSATaskClass:
        """The task of this setup; ``config`` overrides its keyword arguments (there is no yaml)."""
        return DSATaskClass(name=self.name, config={"setup": self.name, **(config or {})})

    def get_from_yaml(self, path: str | None = None) -> DSATaskClass:
        """The setup's task: its configuration is the setup itself, not a BenchMARL yaml file."""
        if path is not None:
            raise ValueError("DSATask has no yaml configuration; pass get_task(config={...})")
        return self.get_task()
