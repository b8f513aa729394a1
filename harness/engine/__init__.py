"""Training engine shared by every pre-trainer."""
