"""Image analysis every job shares: display-referred plates, dense optical flow."""
