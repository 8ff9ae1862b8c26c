"""cosmos-robotics: plug NVIDIA Cosmos 3 world models into robots.

Data flows one way: robot data -> embodiment adapter (``embodiments``) -> world-model backend
(``world_models``) -> adapter -> env / ROS 2 / export.
"""

__version__ = "0.1.0"
