"""Developer tools of ecs-drain-terminator (not shipped to Lambda)."""
