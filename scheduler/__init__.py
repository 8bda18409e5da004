"""Who to call, with which message, when. Pure: stdlib only, the clock is passed in."""
