"""Training of the project's own models: the embedded world model and the data it learns from (simulated or
recorded SimDroid-v0 episodes). Sits above ``world_models`` (inference only), ``sim``, ``policies`` and ``export``."""
