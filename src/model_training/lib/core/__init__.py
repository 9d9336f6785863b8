"""What every stage shares: the spec, the plan, metrics, frames, errors, profiling."""
