"""What the instrument does: the array lattice, the tank response, the triggers."""
