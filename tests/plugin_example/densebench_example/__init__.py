"""An example DenseBench plugin (README: "Adding a method", "Adding a task")."""
