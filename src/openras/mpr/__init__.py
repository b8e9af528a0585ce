"""The Multiple Provider Router: WNet connections through providers, notifyees, remembered
connections."""
