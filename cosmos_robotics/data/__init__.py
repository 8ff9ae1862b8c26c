"""Reading robot data sources (LeRobot v3 directories, pose files) into arrays for the adapters."""
