"""Network physics of the radial feeder: topology arrays, power flows, network-constrained clearing."""
