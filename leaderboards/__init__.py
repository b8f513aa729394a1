"""What is shown: leaderboard tables built from result records (leaderboards.table).

Published numbers from the papers, with their sources, and the papers' table definitions are not
here yet (see the project's issues); until then tables show DenseBench's own runs only.
"""
