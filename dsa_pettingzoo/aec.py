"""The DSA environment as a PettingZoo AEC env: users act one after another within a slot.

:class:`DSAAECEnv` (``raw_env``, PettingZoo's name for the unwrapped AEC env) plays the same
slots as :class:`~dsa_pettingzoo.env.DSAParallelEnv`: it collects one action per user in
``agents`` order and resolves the slot when the last user has acted, so for the same seed and
actions both give the same observations, rewards and infos.

Every action is checked when :meth:`DSAAECEnv.step` receives it: an invalid one raises
:class:`~dsa_pettingzoo.env.InvalidActionError` naming the acting agent and changes nothing,
so the same agent can act again with a valid action and the slot goes on.

``env()`` adds PettingZoo's ``OrderEnforcingWrapper`` (errors for calls before ``reset``).
PettingZoo's ``AssertOutOfBoundsWrapper`` is left out: its ``assert`` would pre-empt the
InvalidActionError (and vanish under ``python -O``).
"""

from __future__ import annotations

from pettingzoo import AECEnv
from pettingzoo.utils import AgentSelector
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

from .env import DSAParallelEnv, InvalidActionError


class DSAAECEnv(AECEnv):
    """Unwrapped AEC version of the DSA environment (keyword arguments as ``parallel_env``).

    Rewards follow the AEC convention: ``last()`` returns the acting agent's reward accumulated
    since its previous action, i.e. the reward r_t^n of the slot that ended since then.
    Terminations and infos are those of the ParallelEnv; after the last slot every agent must
    still be stepped once with ``None`` (PettingZoo's dead-agent step).
    """

    def __init__(self, **kwargs):
        super().__init__()
        self.parallel = DSAParallelEnv(**kwargs)
        self.config = self.parallel.config
        self.metadata = dict(self.parallel.metadata)
        self.render_mode = self.parallel.render_mode
        self.possible_agents = list(self.parallel.possible_agents)
        self.observation_spaces = self.parallel.observation_spaces
        self.action_spaces = self.parallel.action_spaces
        self.state_space = self.parallel.state_space
        self.agents: list[str] = []
        self._observations: dict = {}
        self._started = False

    def observation_space(self, agent):
        """The observation space of ``agent`` (the ParallelEnv's)."""
        return self.parallel.observation_space(agent)

    def action_space(self, agent):
        """The action space of ``agent``: Discrete(K + 1)."""
        return self.parallel.action_space(agent)

    @property
    def np_random(self):
        """The episode's random generator (set by ``reset(seed=...)``)."""
        return self.parallel.np_random

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        """Start an episode (seeding as ``parallel_env().reset``); the first agent acts next."""
        self._observations, infos = self.parallel.reset(seed=seed, options=options)
        self._started = True
        self.agents = list(self.parallel.agents)
        self.infos = {a: dict(infos[a]) for a in self.agents}
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self._pending: dict[str, int] = {}
        self._selector = AgentSelector(self.agents)
        self.agent_selection = self._selector.reset()
        self._skip_agent_selection = None

    def observe(self, agent):
        """The current observation of ``agent`` (what it saw after the last resolved slot)."""
        if not self._started:
            raise RuntimeError("call reset() before observe()")
        return self._observations[self.parallel._check_agent(agent)]

    def step(self, action) -> None:
        """Act for ``agent_selection``; the slot is resolved once every live agent has acted."""
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if not self.agents:
            raise RuntimeError("the episode is over (all agents removed); call reset()")
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            if action is not None:
                raise InvalidActionError(
                    f"{agent} is done (the episode is over): step it with None, got {action!r}"
                )
            self._was_dead_step(action)
            return
        self._pending[agent] = self.parallel.check_action(agent, action)
        self._cumulative_rewards[agent] = 0.0
        if not self._selector.is_last():
            if self._selector.is_first():
                self._clear_rewards()
            self.agent_selection = self._selector.next()
            return
        obs, rewards, terminations, truncations, infos = self.parallel.step(self._pending)
        self._pending = {}
        self._observations = obs
        self.rewards = dict(rewards)
        self.terminations = dict(terminations)
        self.truncations = dict(truncations)
        self.infos = infos
        self._accumulate_rewards()
        self.agent_selection = self._selector.next()
        self._deads_step_first()

    def state(self):
        """Global state float32 [state_dim] (the ParallelEnv's, see docs/environment.md)."""
        return self.parallel.state()

    def render(self):
        """Render as the ParallelEnv does (per ``render_mode``)."""
        return self.parallel.render()

    def close(self):
        """Close the human-mode window, if any."""
        self.parallel.close()

    def __str__(self) -> str:
        return str(self.parallel)


def raw_env(**kwargs) -> DSAAECEnv:
    """The unwrapped DSA AEC env (PettingZoo's ``raw_env``); kwargs as ``make_config``."""
    return DSAAECEnv(**kwargs)


def env(**kwargs):
    """The DSA AEC env in PettingZoo's ``OrderEnforcingWrapper``; kwargs as ``make_config``."""
    return OrderEnforcingWrapper(raw_env(**kwargs))
