"""What is shown: leaderboard tables built from result records (leaderboards.table), and the seed
papers' published numbers with their sources, one file per paper table (leaderboards.published,
leaderboards/published/*.yaml). Rendering the paper tables with measured rows beside the published
ones (`bench table`), sweeps and the HTML report are not here yet (issue 21).
"""
