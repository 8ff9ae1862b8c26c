"""The one episode loop (``run_episode``): policy x env x seeds -> episodes, for every env of the toolkit."""

from cosmos_robotics.rollout.runner import Episode, run_episode, run_episodes, stacked_views

__all__ = ["Episode", "run_episode", "run_episodes", "stacked_views"]
