"""stocksim: the simulated clock, actors, observers and the acceptance-suite runner."""
