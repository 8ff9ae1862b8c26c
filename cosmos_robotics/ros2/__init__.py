"""ROS 2 bridge: robot observations in, policy chunks and predicted video out, over any ``Transport``.

``bridge`` (core, no rclpy), ``messages`` (the one codec: rosbags' typestore), ``transport`` (in-memory bus),
``rclpy_transport`` (the live graph), ``env`` (the graph as a chunk env for ``rollout.run_episode``),
``emulator`` (SimDroid-v0 as a ROS 2 robot), ``recording`` (bags, replay, bag -> LeRobot), ``nodes`` (processes).
"""
