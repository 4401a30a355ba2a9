"""The portal's rules as data: states and transitions, limits, permissions, profile fields."""
