"""``stocksim bench``: the suite, a month of a big shop and the cost of one request, each against its goal.

- ``suite``: the acceptance suite, wall time against the simulated time it covers (``benchmarks.suite``);
- ``month``: 30 simulated days of a 10,000-offer shop through the same HTTP path as the suite
  (``benchmarks.month``), wall time and peak memory, measured in a child process;
- ``request``: the cost of one request to each fake against a floor, a minimal server answering the
  same bytes (``benchmarks.request_cost``).

``benchmarks.cli`` registers the ``bench`` subcommand and prints the table.
"""
